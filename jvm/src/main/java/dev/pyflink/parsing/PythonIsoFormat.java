package dev.pyflink.parsing;

import java.nio.charset.StandardCharsets;

/**
 * Python 3.11's {@code datetime.fromisoformat}, ported line by line from its C implementation
 * ({@code Modules/_datetimemodule.c}: {@code datetime_fromisoformat} and the functions it calls), as
 * {@link EventParser} needs it: the instant a string names, in epoch microseconds, or {@link #INVALID}
 * where Python raises. {@code udfs/timeutil.py} ({@code parse_event_time}) calls it on every string
 * timestamp, so every acceptance and every value must be Python's own, quirks included: the C code
 * parses the string's UTF-8 bytes as a NUL-terminated buffer (a NUL in the string ends some parts of
 * it), takes any single character as the date/time separator, does not check the ranges of an
 * offset's minutes and seconds, and accepts a few spellings its documentation does not mention
 * ({@code 12:30:+05:00}, {@code 12:30:45:5}). Keep it a literal port: anything "simplified" differs.
 *
 * <p>One instance parses one string (the C code's output pointers are its fields).
 */
final class PythonIsoFormat {
    /** Where Python raises ValueError. */
    static final long INVALID = Long.MIN_VALUE;

    private static final int MINYEAR = 1;
    private static final int MAXYEAR = 9999;
    private static final int[] DAYS_IN_MONTH = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    private static final int[] DAYS_BEFORE_MONTH = {0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    /** date(1970, 1, 1).toordinal(). */
    private static final int EPOCH_ORDINAL = 719_163;
    private static final long US_PER_SECOND = 1_000_000L;
    private static final long US_PER_DAY = 86_400L * US_PER_SECOND;

    /** The string's UTF-8 bytes; C reads them NUL-terminated, so every position from len on reads 0. */
    private final byte[] s;
    private final int len;
    /** parse_digits' result (C accumulates into the caller's variable, which is always 0 first). */
    private int parsed;
    private int year, month, day;
    /** Hour, minute, second, microsecond of the time, then of the UTC offset. */
    private final int[] time = new int[4];
    private final int[] zone = new int[4];
    private int tzOffset, tzMicros;

    private PythonIsoFormat(byte[] utf8) {
        s = utf8;
        len = utf8.length;
    }

    /**
     * {@code datetime.fromisoformat(text)} as epoch microseconds (a naive time taken as UTC, as
     * {@code parse_event_time} does), or {@link #INVALID}. The text holds no lone surrogates (every
     * string {@link EventParser} passes is one Python accepted as Unicode), so Python's UTF-8 encoding
     * and its surrogate clean-up ({@code _sanitize_isoformat_str}) have nothing to do here.
     */
    static long epochMicros(String text) {
        // _sanitize_isoformat_str: fewer than 7 code points is invalid before anything is parsed.
        if (text.codePointCount(0, text.length()) < 7) {
            return INVALID;
        }
        return new PythonIsoFormat(text.getBytes(StandardCharsets.UTF_8)).parse();
    }

    private int at(int i) {
        return i < len ? s[i] & 0xff : 0;
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    /** datetime_fromisoformat, then the subtraction of the epoch in parse_event_time. */
    private long parse() {
        int separator = findSeparator();
        int rv = parseDate(separator);
        if (rv == 0 && len > separator) {
            // Skip the separator, one character of any kind: its UTF-8 length from its lead byte.
            int p = separator;
            int lead = at(p);
            if ((lead & 0x80) == 0) {
                p += 1;
            } else if ((lead & 0xf0) == 0xe0) {
                p += 3;
            } else if ((lead & 0xf0) == 0xf0) {
                p += 4;
            } else {
                p += 2;
            }
            rv = parseTime(p, len - p);
        }
        if (rv < 0) {
            return INVALID;
        }
        // tzinfo_from_isoformat_results: an offset of 0 whole seconds is UTC, whatever its
        // microseconds; any other must lie strictly within a day (new_timezone).
        long offsetUs = 0;
        if (rv == 1 && tzOffset != 0) {
            offsetUs = tzOffset * US_PER_SECOND + tzMicros;
            if (offsetUs <= -US_PER_DAY || offsetUs >= US_PER_DAY) {
                return INVALID;
            }
        }
        // new_datetime: check_date_args and check_time_args (the microsecond has at most 6 digits).
        if (year < MINYEAR || year > MAXYEAR || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
            return INVALID;
        }
        if (time[0] > 23 || time[1] > 59 || time[2] > 59) {
            return INVALID;
        }
        long days = ymdToOrd(year, month, day) - EPOCH_ORDINAL;
        long seconds = days * 86_400L + time[0] * 3_600L + time[1] * 60L + time[2];
        return seconds * US_PER_SECOND + time[3] - offsetUs;
    }

    /** parse_digits: n digits from p into {@link #parsed}; the position after them, or -1. */
    private int digits(int p, int n) {
        parsed = 0;
        for (int i = 0; i < n; i++) {
            int c = at(p++);
            if (!isDigit(c)) {
                return -1;
            }
            parsed = parsed * 10 + (c - '0');
        }
        return p;
    }

    /**
     * _find_isoformat_datetime_separator: where the date ends, guessed from the shape of its start
     * (the separator itself can be any character, a digit or '-' included).
     */
    private int findSeparator() {
        if (len == 7) {
            return 7;
        }
        if (at(4) == '-') {
            if (at(5) == 'W') {
                // len < 8 cannot happen here: len == 7 returned above and len >= 7 code points.
                if (len > 8 && at(8) == '-') {
                    if (len == 9) {
                        return -1;
                    }
                    if (len > 10 && isDigit(at(10))) {
                        return 8;  // YYYY-Www-## : C assumes the hyphen at 8 is the separator
                    }
                    return 10;
                }
                return 8;
            }
            return 10;
        }
        if (at(4) == 'W') {
            // YYYYWww or YYYYWwwd: count the digits after the week; the time's come in pairs.
            int idx = 7;
            while (idx < len && isDigit(at(idx))) {
                idx++;
            }
            if (idx < 9) {
                return idx;
            }
            return idx % 2 == 0 ? 7 : 8;
        }
        return 8;
    }

    /**
     * parse_isoformat_date: 0, or a negative code. C takes the separator's position as a size_t, so
     * its -1 ("no valid date") compares as the largest length (the parse then fails on the NUL).
     */
    private int parseDate(int separator) {
        int p = digits(0, 4);
        if (p < 0) {
            return -1;
        }
        year = parsed;
        boolean usesSeparator = at(p) == '-';
        if (usesSeparator) {
            p++;
        }
        if (at(p) == 'W') {
            p++;
            p = digits(p, 2);
            if (p < 0) {
                return -3;
            }
            int isoWeek = parsed;
            int isoDay;
            if (Integer.compareUnsigned(p, separator) < 0) {
                if (usesSeparator && at(p++) != '-') {
                    return -2;
                }
                p = digits(p, 1);
                if (p < 0) {
                    return -4;
                }
                isoDay = parsed;
            } else {
                isoDay = 1;
            }
            return isoToYmd(year, isoWeek, isoDay) ? 0 : -3;
        }
        p = digits(p, 2);
        if (p < 0) {
            return -1;
        }
        month = parsed;
        if (usesSeparator && at(p++) != '-') {
            return -2;
        }
        p = digits(p, 2);
        if (p < 0) {
            return -1;
        }
        day = parsed;
        return 0;
    }

    /**
     * parse_hh_mm_ss_ff: [HH[:?MM[:?SS]]][(.|,)fraction] from p, the fields up to end (the
     * fraction's digits past the sixth are skipped wherever they end). 0 when the string ends there
     * (at its NUL: C's test), 1 when something follows, negative when malformed.
     */
    private int parseHhMmSsFf(int p, int end, int[] out) {
        out[0] = out[1] = out[2] = out[3] = 0;
        boolean hasSeparator = true;
        for (int i = 0; i < 3; i++) {
            p = digits(p, 2);
            if (p < 0) {
                return -3;
            }
            out[i] = parsed;
            int c = at(p++);
            if (i == 0) {
                hasSeparator = c == ':';
            }
            if (p >= end) {
                return c != 0 ? 1 : 0;
            } else if (hasSeparator && c == ':') {
                continue;
            } else if (c == '.' || c == ',') {
                break;
            } else if (!hasSeparator) {
                p--;
            } else {
                return -4;
            }
        }
        // Here p < end: every path that moved p to end or past it has returned.
        int toParse = Math.min(end - p, 6);
        p = digits(p, toParse);
        if (p < 0) {
            return -3;
        }
        int micros = parsed;
        for (int i = toParse; i < 6; i++) {
            micros *= 10;
        }
        out[3] = micros;
        while (isDigit(at(p))) {
            p++;
        }
        return at(p) != 0 ? 1 : 0;
    }

    /**
     * parse_isoformat_time: 0 (no offset), 1 (an offset in tzOffset/tzMicros) or negative. The
     * offset starts at the first 'Z', '+' or '-'; the time is parsed up to there.
     */
    private int parseTime(int p, int length) {
        int end = p + length;
        int tz = p;
        do {
            int c = at(tz);
            if (c == 'Z' || c == '+' || c == '-') {
                break;
            }
        } while (++tz < end);
        int rv = parseHhMmSsFf(p, tz, time);
        if (rv < 0) {
            return rv;
        }
        if (tz == end) {
            return rv == 1 ? -5 : 0;
        }
        if (at(tz) == 'Z') {
            tzOffset = 0;
            tzMicros = 0;
            return at(tz + 1) != 0 ? -5 : 1;
        }
        int sign = at(tz) == '-' ? -1 : 1;
        rv = parseHhMmSsFf(tz + 1, end, zone);
        tzOffset = sign * (zone[0] * 3600 + zone[1] * 60 + zone[2]);
        tzMicros = sign * zone[3];
        return rv != 0 ? -5 : 1;
    }

    /** iso_to_ymd into year/month/day; false where C returns an error (a year of 10000 passes here). */
    private boolean isoToYmd(int isoYear, int isoWeek, int isoDay) {
        if (isoYear < MINYEAR || isoYear > MAXYEAR) {
            return false;
        }
        if (isoWeek <= 0 || isoWeek >= 53) {
            // Week 53 exists in years that start on a Thursday, and leap years that start on a Wednesday.
            int firstWeekday = (ymdToOrd(isoYear, 1, 1) + 6) % 7;
            if (isoWeek != 53 || !(firstWeekday == 3 || (firstWeekday == 2 && isLeap(isoYear)))) {
                return false;
            }
        }
        if (isoDay <= 0 || isoDay >= 8) {
            return false;
        }
        ordToYmd(isoWeek1Monday(isoYear) + (isoWeek - 1) * 7 + isoDay - 1);
        return true;
    }

    private static boolean isLeap(int y) {
        return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    }

    private static int daysInMonth(int y, int m) {
        return m == 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[m];
    }

    private static int daysBeforeYear(int y) {
        int n = y - 1;
        return n * 365 + n / 4 - n / 100 + n / 400;
    }

    private static int ymdToOrd(int y, int m, int d) {
        return daysBeforeYear(y) + DAYS_BEFORE_MONTH[m] + (m > 2 && isLeap(y) ? 1 : 0) + d;
    }

    private static int isoWeek1Monday(int y) {
        int firstDay = ymdToOrd(y, 1, 1);
        int firstWeekday = (firstDay + 6) % 7;
        int week1Monday = firstDay - firstWeekday;
        return firstWeekday > 3 ? week1Monday + 7 : week1Monday;
    }

    /** ord_to_ymd into year/month/day (ordinal 1 is 0001-01-01). */
    private void ordToYmd(int ordinal) {
        int n = ordinal - 1;
        int n400 = n / 146_097;
        n %= 146_097;
        int y = n400 * 400 + 1;
        int n100 = n / 36_524;
        n %= 36_524;
        int n4 = n / 1_461;
        n %= 1_461;
        int n1 = n / 365;
        n %= 365;
        y += n100 * 100 + n4 * 4 + n1;
        if (n1 == 4 || n100 == 4) {
            year = y - 1;
            month = 12;
            day = 31;
            return;
        }
        boolean leap = n1 == 3 && (n4 != 24 || n100 == 3);
        int m = (n + 50) >> 5;
        int preceding = DAYS_BEFORE_MONTH[m] + (m > 2 && leap ? 1 : 0);
        if (preceding > n) {
            m -= 1;
            preceding -= daysInMonth(y, m);
        }
        year = y;
        month = m;
        day = n - preceding + 1;
    }
}

"""The seed module's pure-Python simulations (module 05), reproduced faithfully as the baseline a
course reader starts from. The classes are the seed's code (printing helpers left out); only the
``run_*`` drivers are ours: they feed the benchmark input, in file order, the way the seed's own
examples do. Nothing outside ``bench/`` imports this module.

Semantics differ from Flink's on purpose (this is the seed, not a reference): sessions close on
the next event's arrival, sliding windows start at the first event instead of the epoch, the
window join uses whole seconds. Only the speed is compared, never the results.
"""

from __future__ import annotations

from datetime import datetime, timedelta


# --- seed section 1: session windows ---------------------------------------------------------
class SessionWindowProcessor:
    """Process events in session windows based on inactivity gap"""

    def __init__(self, gap_seconds=5):
        self.gap = timedelta(seconds=gap_seconds)
        self.sessions = {}  # user_id -> current session
        self.completed_sessions = []  # Completed sessions

    def process_event(self, event):
        """Process event and manage sessions"""
        user_id = event["user_id"]
        event_time = datetime.fromisoformat(event["timestamp"])

        if user_id not in self.sessions:
            # Start new session
            self.sessions[user_id] = {
                "start": event_time,
                "last_event": event_time,
                "events": [event],
                "user_id": user_id,
            }
        else:
            session = self.sessions[user_id]
            gap_duration = event_time - session["last_event"]

            if gap_duration > self.gap:
                # Gap exceeded, close current session and start new one
                session["end"] = session["last_event"]
                session["duration"] = (session["end"] - session["start"]).total_seconds()
                self.completed_sessions.append(session)

                # Start new session
                self.sessions[user_id] = {
                    "start": event_time,
                    "last_event": event_time,
                    "events": [event],
                    "user_id": user_id,
                }
            else:
                # Continue current session
                session["last_event"] = event_time
                session["events"].append(event)

    def close_all_sessions(self):
        """Close all active sessions (end of stream)"""
        for user_id, session in self.sessions.items():
            session["end"] = session["last_event"]
            session["duration"] = (session["end"] - session["start"]).total_seconds()
            self.completed_sessions.append(session)
        self.sessions.clear()


# --- seed section 1: sliding windows ---------------------------------------------------------
class SlidingWindowProcessor:
    """Process events in sliding (overlapping) windows"""

    def __init__(self, window_size_seconds=10, slide_seconds=5):
        self.window_size = window_size_seconds
        self.slide = slide_seconds
        self.events = []  # All events

    def add_event(self, event):
        """Add event to buffer"""
        self.events.append(event)

    def compute_sliding_windows(self):
        """Compute results for all sliding windows"""
        if not self.events:
            return []

        # Get time range
        start_time = datetime.fromisoformat(self.events[0]["timestamp"])
        end_time = datetime.fromisoformat(self.events[-1]["timestamp"])

        windows = []
        current = start_time

        while current <= end_time:
            window_end = current + timedelta(seconds=self.window_size)

            # Get events in this window
            window_events = [e for e in self.events if current <= datetime.fromisoformat(e["timestamp"]) < window_end]

            if window_events:
                # Calculate metrics
                values = [e.get("value", 0) for e in window_events]
                windows.append(
                    {
                        "start": current,
                        "end": window_end,
                        "count": len(window_events),
                        "sum": sum(values),
                        "avg": sum(values) / len(values) if values else 0,
                    }
                )

            # Slide to next window
            current += timedelta(seconds=self.slide)

        return windows


# --- seed section 2: watermarks and late data ------------------------------------------------
class WatermarkGenerator:
    """Generate watermarks with bounded out-of-orderness"""

    def __init__(self, max_out_of_orderness_seconds=5):
        self.max_out_of_orderness = timedelta(seconds=max_out_of_orderness_seconds)
        self.max_timestamp = None
        self.current_watermark = None

    def on_event(self, event_timestamp):
        """Update watermark based on new event"""
        event_time = datetime.fromisoformat(event_timestamp)

        # Track max timestamp
        if self.max_timestamp is None or event_time > self.max_timestamp:
            self.max_timestamp = event_time

        # Generate watermark
        new_watermark = self.max_timestamp - self.max_out_of_orderness

        # Watermarks never go backwards
        if self.current_watermark is None or new_watermark > self.current_watermark:
            self.current_watermark = new_watermark
            return True  # Watermark advanced

        return False  # No change

    def get_watermark(self):
        """Get current watermark"""
        return self.current_watermark

    def is_late(self, event_timestamp):
        """Check if event is late"""
        if self.current_watermark is None:
            return False

        event_time = datetime.fromisoformat(event_timestamp)
        return event_time < self.current_watermark


# --- seed section 3: window join -------------------------------------------------------------
class WindowJoin:
    """Join two streams within windows"""

    def __init__(self, window_size_seconds=10):
        self.window_size = window_size_seconds
        self.stream_a = {}  # window_id -> events
        self.stream_b = {}  # window_id -> events

    def get_window_id(self, timestamp):
        """Get window ID from timestamp"""
        event_time = datetime.fromisoformat(timestamp)
        epoch = int(event_time.timestamp())
        return (epoch // self.window_size) * self.window_size

    def add_to_stream_a(self, event):
        """Add event to stream A"""
        window_id = self.get_window_id(event["timestamp"])
        if window_id not in self.stream_a:
            self.stream_a[window_id] = []
        self.stream_a[window_id].append(event)

    def add_to_stream_b(self, event):
        """Add event to stream B"""
        window_id = self.get_window_id(event["timestamp"])
        if window_id not in self.stream_b:
            self.stream_b[window_id] = []
        self.stream_b[window_id].append(event)

    def join_windows(self):
        """Perform inner join on all windows"""
        results = []

        # Find common windows
        common_windows = set(self.stream_a.keys()) & set(self.stream_b.keys())

        for window_id in sorted(common_windows):
            a_events = self.stream_a[window_id]
            b_events = self.stream_b[window_id]

            # Join on key
            for a_event in a_events:
                for b_event in b_events:
                    if a_event["user_id"] == b_event["user_id"]:
                        results.append(
                            {
                                "window_id": window_id,
                                "user_id": a_event["user_id"],
                                "click": a_event,
                                "purchase": b_event,
                            }
                        )

        return results


# --- seed section 4: process function with timers --------------------------------------------
class TimeoutDetector:
    """
    Detect when users are inactive for too long
    (Simulates KeyedProcessFunction with timers)
    """

    def __init__(self, timeout_seconds=5):
        self.timeout = timedelta(seconds=timeout_seconds)
        self.last_seen = {}  # user_id -> last event time
        self.timers = {}  # user_id -> timer time
        self.timeouts = []  # Timeout events

    def process_event(self, event, current_time):
        """Process event and manage timers"""
        user_id = event["user_id"]
        event_time = datetime.fromisoformat(event["timestamp"])

        # Update last seen
        self.last_seen[user_id] = event_time

        # Register/update timer
        timer_time = event_time + self.timeout
        self.timers[user_id] = timer_time

        # Check if any timers should fire
        self.check_timers(current_time)

    def check_timers(self, current_time):
        """Fire timers that have passed"""
        current_dt = datetime.fromisoformat(current_time)

        fired = []
        for user_id, timer_time in list(self.timers.items()):
            if current_dt >= timer_time:
                # Timer fired!
                self.on_timer(user_id, timer_time)
                fired.append(user_id)

        # Remove fired timers
        for user_id in fired:
            del self.timers[user_id]

    def on_timer(self, user_id, timer_time):
        """Callback when timer fires"""
        last_seen = self.last_seen.get(user_id)
        if last_seen:
            inactive_duration = (timer_time - last_seen).total_seconds()
            self.timeouts.append(
                {
                    "user_id": user_id,
                    "last_seen": last_seen.isoformat(),
                    "timeout_at": timer_time.isoformat(),
                    "inactive_duration": inactive_duration,
                }
            )


# --- seed section 5: side outputs ------------------------------------------------------------
class MultiOutputProcessor:
    """Process events with multiple outputs"""

    def __init__(self):
        self.main_output = []  # Valid events
        self.error_output = []  # Errors
        self.late_output = []  # Late events
        self.watermark = None

    def set_watermark(self, watermark):
        """Update watermark"""
        self.watermark = watermark

    def process_event(self, event):
        """Process and route to appropriate output"""
        try:
            # Validate event
            if "value" not in event or event["value"] < 0:
                # Invalid → Error output
                self.error_output.append({**event, "error": "Invalid value"})
                return "error"

            # Check if late
            if self.watermark:
                event_time = datetime.fromisoformat(event["timestamp"])
                if event_time < self.watermark:
                    # Late → Late output
                    self.late_output.append(event)
                    return "late"

            # Valid → Main output
            self.main_output.append(event)
            return "main"

        except Exception as e:
            # Exception → Error output
            self.error_output.append({**event, "error": str(e)})
            return "error"


# --- drivers: the benchmark input through the seed's classes, in file (arrival) order ---------
# Each returns the number of results, so the work cannot be optimized away.


def run_sessions(inputs, gap_seconds):
    processor = SessionWindowProcessor(gap_seconds=gap_seconds)
    for event in inputs["events"]:
        processor.process_event(event)
    processor.close_all_sessions()
    return len(processor.completed_sessions)


def run_sliding(inputs, size_seconds, slide_seconds, key_field):
    """One seed processor per key (the seed's is one global stream; the job is keyed)."""
    processors = {}
    for event in inputs["events"]:
        key = event.get(key_field) if key_field else None
        if key not in processors:
            processors[key] = SlidingWindowProcessor(size_seconds, slide_seconds)
        processors[key].add_event(event)
    return sum(len(p.compute_sliding_windows()) for p in processors.values())


def run_late_data(inputs, bound_seconds):
    """The seed's watermark example: classify each event on arrival, then advance the watermark."""
    generator = WatermarkGenerator(max_out_of_orderness_seconds=bound_seconds)
    on_time, late = [], []
    for event in inputs["events"]:
        is_late = generator.is_late(event["timestamp"])
        generator.on_event(event["timestamp"])
        (late if is_late else on_time).append(event)
    return len(on_time) + len(late)


def run_window_join(inputs, window_seconds):
    join = WindowJoin(window_size_seconds=window_seconds)
    for click in inputs["clicks"]:
        join.add_to_stream_a(click)
    for purchase in inputs["purchases"]:
        join.add_to_stream_b(purchase)
    return len(join.join_windows())


def run_timeouts(inputs, timeout_seconds):
    """As the seed's example: each event's own timestamp is the current time when it arrives."""
    detector = TimeoutDetector(timeout_seconds=timeout_seconds)
    events = inputs["events"]
    for event in events:
        detector.process_event(event, event["timestamp"])
    if events:  # the end of the input: advance time past every timer, as the seed's loop does
        last = max(datetime.fromisoformat(e["timestamp"]) for e in events[-100:])
        detector.check_timers((last + timedelta(days=1)).isoformat())
    return len(detector.timeouts)


def run_router(inputs, bound_seconds):
    """The seed's router with the seed's watermark generator advancing the watermark."""
    processor = MultiOutputProcessor()
    generator = WatermarkGenerator(max_out_of_orderness_seconds=bound_seconds)
    for event in inputs["events"]:
        processor.process_event(event)
        generator.on_event(event["timestamp"])
        processor.set_watermark(generator.get_watermark())
    return len(processor.main_output) + len(processor.late_output) + len(processor.error_output)

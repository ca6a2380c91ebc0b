package dev.pyflink.reporter;

import org.apache.flink.metrics.prometheus.BoundPrometheusReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.apache.flink.util.PortRange;

import java.util.Properties;

/**
 * Creates a {@link BoundPrometheusReporter}: {@code metrics.reporter.<name>.factory.class} names
 * this class, {@code metrics.reporter.<name>.host} the address to listen on (default 127.0.0.1) and
 * {@code metrics.reporter.<name>.port} the port or ports to try, as for Flink's own reporter
 * (default 9249-9260: a JobManager and its TaskManagers on one machine take one each).
 */
public class BoundPrometheusReporterFactory implements MetricReporterFactory {

    static final String ARG_HOST = "host";
    static final String ARG_PORT = "port";
    private static final String DEFAULT_HOST = "127.0.0.1";
    private static final String DEFAULT_PORT = "9249-9260";

    @Override
    public BoundPrometheusReporter createMetricReporter(Properties properties) {
        String host = properties.getProperty(ARG_HOST, DEFAULT_HOST);
        String ports = properties.getProperty(ARG_PORT, DEFAULT_PORT);
        return new BoundPrometheusReporter(host, new PortRange(ports));
    }
}

package org.apache.flink.metrics.prometheus;

import org.apache.flink.util.PortRange;

import io.prometheus.client.exporter.HTTPServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Iterator;

/**
 * Flink's {@link PrometheusReporter}, serving on one address instead of all of them.
 *
 * <p>Flink 2.2's reporter binds its HTTP endpoint to the wildcard address, with no option to
 * change it, so every metric of a job would be readable from the network. This one is the same
 * exporter (the metric names, labels and types all come from {@link AbstractPrometheusReporter})
 * bound to the address it is given: 127.0.0.1 for local runs and standalone clusters. It lives in
 * Flink's package because the registry it serves is package-private there.
 */
public class BoundPrometheusReporter extends AbstractPrometheusReporter {

    private final HTTPServer httpServer;
    private final int port;

    public BoundPrometheusReporter(String host, PortRange ports) {
        HTTPServer server = null;
        int bound = -1;
        Iterator<Integer> candidates = ports.getPortsIterator();
        while (server == null && candidates.hasNext()) {
            int candidate = candidates.next();
            try {
                server = new HTTPServer(new InetSocketAddress(host, candidate), registry);
                bound = candidate;
                log.info("Started PrometheusReporter HTTP server on {}:{}.", host, candidate);
            } catch (IOException e) {
                log.debug("Could not start PrometheusReporter HTTP server on {}:{}.", host, candidate, e);
            }
        }
        if (server == null) {
            throw new RuntimeException(
                    "Could not start PrometheusReporter HTTP server on " + host + ", any port of " + ports);
        }
        this.httpServer = server;
        this.port = bound;
    }

    /** The port the endpoint listens on (the first free one of the range). */
    public int getPort() {
        return port;
    }

    @Override
    public void close() {
        httpServer.stop();
        super.close();
    }
}

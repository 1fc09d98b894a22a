import type { IncomingMessage, ServerResponse } from 'node:http';
import { EXPOSITION_CONTENT_TYPE } from '../metrics/exposition.js';
import { presentedToken, sameToken } from './auth.js';
import { BASE_HEADERS, HttpError } from './respond.js';

export const METRICS_PATH = '/metrics';

/** The daemon's metrics as the route needs them; null when `metrics.enabled` is false. */
export interface MetricsEndpoint {
  render(): string;
  /** Whether the token is the metrics token (`<home>/metrics-token`). */
  verify(token: string): boolean;
}

export interface MetricsRouteContext {
  readonly metrics: MetricsEndpoint | null;
  /** The dashboard's token opens /metrics too (a person looking from the dashboard's browser). */
  readonly dashboardToken: string;
  readonly port: number;
}

/**
 * `GET /metrics`: the Prometheus text format, for the metrics token (`Authorization: Bearer`, what
 * Prometheus sends with `authorization.credentials_file`) or the dashboard's. The metrics token opens
 * nothing else. See docs/metrics.md.
 */
export function handleMetrics(context: MetricsRouteContext, request: IncomingMessage, response: ServerResponse): void {
  if (context.metrics === null)
    throw new HttpError(404, 'metricsDisabled', "metrics are off: the daemon's `metrics.enabled` option is false");
  if (request.method !== 'GET')
    throw new HttpError(405, 'methodNotAllowed', `${METRICS_PATH} takes GET`, undefined, { Allow: 'GET' });
  const token = presentedToken(request, context.port);
  if (token === null || !(context.metrics.verify(token) || sameToken(token, context.dashboardToken))) {
    const message =
      token === null
        ? 'send the metrics token as "Authorization: Bearer TOKEN"; it is in <home>/metrics-token'
        : "the token is not this daemon's metrics token (<home>/metrics-token) or dashboard token";
    throw new HttpError(401, 'unauthorized', message, 'Authorization', {
      'WWW-Authenticate': 'Bearer realm="bgtasks metrics"',
    });
  }
  const body = context.metrics.render();
  response.writeHead(200, {
    ...BASE_HEADERS,
    'Content-Type': EXPOSITION_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(body),
  });
  response.end(body);
}

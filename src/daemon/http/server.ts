import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Disposable } from '../../engine/clock.js';
import type { SchedulerLog } from '../scheduler/ports.js';
import { cookieName, hostAllowed, newToken, originAllowed, presentedToken, sameToken } from './auth.js';
import { removeDashboardFile, writeDashboardFile } from './dashboardFile.js';
import { BASE_HEADERS, HttpError, sendError, sendJson } from './respond.js';
import { handleApi, type DashboardControl } from './routes.js';
import { handlePush, PUSH_PATH } from './pushRoute.js';
import { handleMetrics, METRICS_PATH, type MetricsEndpoint } from './metricsRoute.js';
import type { PushBody } from '../../protocol/push.js';
import { SnapshotStream } from './sse.js';
import { StaticFiles } from './staticFiles.js';
import { SIGN_IN_CODES_PATH, SignInCodes } from './signInCodes.js';
import { HttpConnectionGuard, type HttpLimits } from '../guards/httpConnectionGuard.js';

export interface DashboardServerOptions {
  readonly home: string;
  /** The address to listen on (`--http-host`). @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The daemon's control commands (`snapshot`, `cancelTask`, `enable`, `disable`) and its change stream. */
  readonly control: DashboardControl & {
    watch(listener: (event: unknown) => void): () => void;
    receivePush(appId: string, body: PushBody): Promise<unknown>;
  };
  /** Sensor changes are not store commits, so they are watched here too. */
  readonly conditions: { onDidChange(listener: () => void): Disposable };
  readonly log: SchedulerLog;
  /** Checks the push token senders present to `POST /v1/apps/{appId}/push`. */
  readonly pushTokens: { verify(appId: string, token: string): boolean };
  /** `GET /metrics` (docs/metrics.md); null or absent: metrics are off, and it answers 404 `metricsDisabled`. */
  readonly metrics?: MetricsEndpoint | null;
  /** Connections and timeouts (see HttpConnectionGuard). */
  readonly limits: HttpLimits;
}

/** Request bodies are a few fields: anything larger is a mistake or an attack. */
const BODY_LIMIT = 16 * 1024;
const HOST = '127.0.0.1';

/**
 * The dashboard: the page and its API on 127.0.0.1, behind a token made at start and written to
 * `<home>/run/dashboard.json` for `bgtasks dashboard`. node:http is enough for five routes and a stream;
 * a framework would add dependencies to the daemon for nothing the page needs.
 */
export class DashboardServer {
  readonly #server: Server;
  readonly #token: string;
  readonly #home: string;
  readonly #stream: SnapshotStream;
  readonly #files = new StaticFiles();
  readonly #signInCodes = new SignInCodes(() => performance.now());
  readonly #guard: HttpConnectionGuard;
  readonly #options: DashboardServerOptions;
  /** Addresses besides 127.0.0.1 and localhost that requests may name in Host (see `hostAllowed`). */
  readonly #boundNames: readonly string[];
  #port = 0;

  private constructor(options: DashboardServerOptions) {
    this.#options = options;
    this.#boundNames = boundNames(options.host ?? HOST);
    this.#home = options.home;
    this.#token = newToken();
    const { control, conditions, log } = options;
    this.#stream = new SnapshotStream(
      {
        snapshot: () => control.call('snapshot', {}),
        onChange: (listener) => {
          const unwatch = control.watch(listener);
          const sensors = conditions.onDidChange(listener);
          return () => {
            unwatch();
            sensors.dispose();
          };
        },
      },
      { minIntervalMs: 250, runningIntervalMs: 1_000, fleetIntervalMs: 3_000, heartbeatMs: 15_000, maxClients: 32 },
      (error) =>
        log.error('dashboard: could not build a snapshot', {
          error: error instanceof Error ? error.message : String(error),
        }),
    );
    // Checked each second (Node's default is 30 s): a client that never finishes its headers is gone soon.
    this.#server = createServer({ connectionsCheckingInterval: 1_000 }, (request, response) => {
      this.#handle(request, response).catch((error: unknown) => this.#fail(response, error));
    });
    this.#guard = new HttpConnectionGuard(options.limits, log);
    this.#guard.attach(this.#server);
    if (!this.#files.loaded) log.warn('dashboard: the page files are missing from the package; only the API is served');
  }

  static async start(options: DashboardServerOptions): Promise<DashboardServer> {
    const dashboard = new DashboardServer(options);
    await new Promise<void>((resolve, reject) => {
      dashboard.#server.once('error', reject);
      dashboard.#server.listen({ host: options.host ?? HOST, port: options.port }, () => {
        dashboard.#server.off('error', reject);
        resolve();
      });
    });
    dashboard.#port = (dashboard.#server.address() as AddressInfo).port;
    writeDashboardFile(options.home, { url: dashboard.url, port: dashboard.#port, token: dashboard.#token });
    options.log.info(`dashboard at ${dashboard.url} (bgtasks dashboard opens it)`, { port: dashboard.#port });
    if (!isLoopback(options.host ?? HOST)) {
      options.log.warn(
        `the dashboard and the push endpoint listen on ` +
          `${options.host}:${dashboard.#port}, reachable from other machines, over ` +
          `plain HTTP (no TLS): put them behind a TLS proxy, or use the default ` +
          `127.0.0.1`,
        { host: options.host },
      );
    }
    return dashboard;
  }

  /** Where a browser on this machine reaches it: 127.0.0.1 for a wildcard bind, else the bound address. */
  get url(): string {
    const host = this.#options.host ?? HOST;
    const name = host === '0.0.0.0' || host === '::' ? HOST : host.includes(':') ? `[${host}]` : host;
    return `http://${name}:${this.#port}/`;
  }

  get port(): number {
    return this.#port;
  }

  async close(): Promise<void> {
    removeDashboardFile(this.#home);
    this.#stream.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const port = this.#port;
    if (!hostAllowed(request.headers.host, port, this.#boundNames))
      throw new HttpError(
        421,
        'misdirectedRequest',
        `this server answers only to 127.0.0.1:${port}, localhost:${port} or the ` + `address it was told to listen on`,
        'Host',
      );
    if (!originAllowed(request.headers.origin, port, this.#boundNames))
      throw new HttpError(403, 'forbiddenOrigin', 'requests from other origins are refused', 'Origin');
    const url = requestUrl(request.url, port);
    const push = PUSH_PATH.exec(url.pathname);
    if (push) {
      const { control, pushTokens } = this.#options;
      const verify = (appId: string, token: string): boolean => {
        const valid = pushTokens.verify(appId, token);
        if (valid) this.#guard.proven(request.socket);
        return valid;
      };
      return handlePush(
        { verify, receive: (appId, body) => control.receivePush(appId, body), bodyLimit: BODY_LIMIT },
        request,
        response,
        push[1]!,
      );
    }
    // Before the dashboard's check: a scraper presents the metrics token, which opens nothing else.
    if (url.pathname === METRICS_PATH)
      return handleMetrics(
        { metrics: this.#options.metrics ?? null, dashboardToken: this.#token, port },
        request,
        response,
      );
    const isPage = !url.pathname.startsWith('/v1/');
    const queryToken = url.searchParams.get('token');
    if (url.pathname === '/' && queryToken !== null && request.method === 'GET') {
      if (!sameToken(queryToken, this.#token))
        return this.#unauthorized(
          request,
          response,
          "the token in the address is not this daemon's (it changes at every start)",
        );
      // The token moves into a cookie the page's scripts cannot read, and out of the address bar and history.
      response.writeHead(303, {
        ...BASE_HEADERS,
        Location: '/',
        'Set-Cookie': `${cookieName(port)}=${this.#token}; HttpOnly; SameSite=Strict; Path=/`,
      });
      return void response.end();
    }
    const code = url.searchParams.get('code');
    if (url.pathname === '/' && code !== null && request.method === 'GET') {
      if (!this.#signInCodes.redeem(code))
        return this.#unauthorized(
          request,
          response,
          'the sign-in code was used already or has expired: run `bgtasks dashboard` ' + 'again',
        );
      response.writeHead(303, {
        ...BASE_HEADERS,
        Location: '/',
        'Set-Cookie': `${cookieName(port)}=${this.#token}; HttpOnly; SameSite=Strict; Path=/`,
      });
      return void response.end();
    }
    const token = presentedToken(request, port);
    if (token === null || !sameToken(token, this.#token)) {
      return this.#unauthorized(
        request,
        response,
        token === null
          ? 'a token is required: run `bgtasks dashboard`'
          : "the token is not this daemon's (it changes at every start): run `bgtasks " + 'dashboard`',
      );
    }
    this.#guard.proven(request.socket);
    if (url.pathname === SIGN_IN_CODES_PATH) {
      if (request.method !== 'POST')
        throw new HttpError(405, 'methodNotAllowed', `${SIGN_IN_CODES_PATH} takes POST`, undefined, { Allow: 'POST' });
      return sendJson(response, 201, this.#signInCodes.mint());
    }
    if (!isPage)
      return handleApi(
        { control: this.#options.control, stream: this.#stream, bodyLimit: BODY_LIMIT },
        request,
        response,
        url.pathname,
      );
    if (request.method !== 'GET' && request.method !== 'HEAD')
      throw new HttpError(405, 'methodNotAllowed', 'the page takes GET', undefined, { Allow: 'GET, HEAD' });
    if (this.#files.serve(url.pathname, response, request.method === 'HEAD')) return;
    throw new HttpError(
      url.pathname === '/' ? 500 : 404,
      url.pathname === '/' ? 'pageMissing' : 'notFound',
      url.pathname === '/'
        ? 'the dashboard page is missing from the package: reinstall bgtasks'
        : `no file at ${url.pathname}`,
    );
  }

  /** JSON for the API and scripts; a short page with the way in for a person's browser. */
  #unauthorized(request: IncomingMessage, response: ServerResponse, message: string): void {
    const wantsPage = request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
    const page = wantsPage ? this.#files.signInPage : null;
    if (!page)
      return sendError(
        response,
        new HttpError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer realm="bgtasks"' }),
      );
    response.writeHead(401, {
      ...BASE_HEADERS,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
      'WWW-Authenticate': 'Bearer realm="bgtasks"',
    });
    response.end(page);
  }

  #fail(response: ServerResponse, error: unknown): void {
    if (!(error instanceof HttpError))
      this.#options.log.error('dashboard: request failed', {
        error: error instanceof Error ? error.message : String(error),
      });
    const failure =
      error instanceof HttpError
        ? error
        : new HttpError(500, 'internalError', 'the daemon could not answer; see its log');
    if (response.headersSent) return void response.destroy();
    sendError(response, failure);
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** For a wildcard bind, every address of this machine; else the one address. */
function boundNames(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  return Object.values(networkInterfaces()).flatMap((addresses) => (addresses ?? []).map((address) => address.address));
}

/**
 * The request's target as a URL. node:http passes on any target without spaces, so one that is not a
 * URL (the absolute form `http://[::1`) is the client's mistake: a 400, not a throw out of the handler.
 */
function requestUrl(target: string | undefined, port: number): URL {
  try {
    return new URL(target ?? '/', `http://${HOST}:${port}`);
  } catch {
    throw new HttpError(400, 'invalidArgument', 'the request target is not a valid URL', 'url');
  }
}

/**
 * Starts the dashboard as the daemon's options ask (`httpPort`, null for none). It never stops the
 * daemon from starting: without its page the system still runs apps' work, so a taken port is logged
 * and `status` shows no dashboard.
 */
export async function startDashboard(
  options: Omit<DashboardServerOptions, 'port'> & { readonly port: number | null },
): Promise<DashboardServer | null> {
  removeDashboardFile(options.home); // a crashed daemon's file must not point at a port someone else may hold
  if (options.port === null) return null;
  try {
    return await DashboardServer.start({ ...options, port: options.port });
  } catch (error) {
    options.log.error(
      `dashboard: cannot serve on ${options.host ?? HOST}:${options.port}: ` +
        `${error instanceof Error ? error.message : String(error)}`,
    );
    return null;
  }
}

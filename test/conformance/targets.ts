/**
 * The six targets of the conformance suite: one small factory per framework, each building an app
 * with the same endpoints behind the buffering middleware users install app-wide, on a real
 * server at 127.0.0.1, port 0.
 */
import { createServer, type Server } from 'node:http';
import {
  createServer as createHttp2Server,
  type Http2Server,
  type ServerHttp2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import etagKoa from '@koa/etag';
import Router from '@koa/router';
import { createAdaptorServer } from '@hono/node-server';
import compression from 'compression';
import express from 'express';
import express4 from 'express4';
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { cors } from 'hono/cors';
import { etag } from 'hono/etag';
import { secureHeaders } from 'hono/secure-headers';
import { timing } from 'hono/timing';
import Koa from 'koa';
import Koa2 from 'koa2';
import koaCompress from 'koa-compress';
import conditional from 'koa-conditional-get';
import type { Handler, SseOptions, SseWriter } from 'ssekit';
import { sse as expressSse } from 'ssekit/express';
import { sse as honoSse } from 'ssekit/hono';
import { sse as koaSse } from 'ssekit/koa';
import { sse as nodeSse } from 'ssekit/node';

/** What a scenario's producer may read from its request, whatever the framework. */
export interface RequestInfo {
  header(name: string): string | undefined;
}

/** One endpoint of a scenario's app. */
export interface EndpointSpec {
  method: 'get' | 'post';
  path: string;
  produce: (writer: SseWriter, request: RequestInfo) => ReturnType<Handler>;
  options?: SseOptions<unknown, unknown>;
}

/** A started app. */
export interface Running {
  /** `http://127.0.0.1:<port>` */
  url: string;
  server: Server | Http2Server;
  /** Errors that reached the framework's error path. */
  frameworkErrors: unknown[];
  close(): Promise<void>;
}

export interface Target {
  name: string;
  /** Whether the target runs the toggle scenario (plain node:http parses no body: its rule reads `req.body` only when a parser set it). */
  toggle: boolean;
  /** The status the app's error path answers with. */
  errorStatus: number;
  /** Whether the error path marks its answer with `x-error-path` (plain node:http has none). */
  errorMarker: boolean;
  /** Whether the framework runs on Node's HTTP/2 server (Express's request objects do not). */
  http2: boolean;
  start(endpoints: EndpointSpec[], http2?: boolean): Promise<Running>;
}

/** A header an upstream middleware sets, as CORS does; the stream must keep it. */
export const UPSTREAM_HEADER = 'x-upstream';

/**
 * A header an upstream middleware sets once the rest of the chain has returned (after
 * `await next()`, as `secureHeaders()`, `timing()` and koa-response-time do); the stream must keep
 * it too.
 */
export const AFTER_HEADER = 'x-after-next';

async function listen(server: Server | Http2Server, frameworkErrors: unknown[]): Promise<Running> {
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    frameworkErrors,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const fromHeaders = (get: (name: string) => string | string[] | undefined): RequestInfo => ({
  header(name) {
    const value = get(name);
    return Array.isArray(value) ? value.join(', ') : value;
  },
});

function expressTarget(name: string, factory: typeof express): Target {
  return {
    name,
    toggle: true,
    errorStatus: 503,
    errorMarker: true,
    http2: false,
    start(endpoints) {
      const frameworkErrors: unknown[] = [];
      const app = factory();
      app.use(compression({ threshold: 0 }));
      app.use(factory.json());
      app.use((_req, res, next) => {
        res.setHeader(UPSTREAM_HEADER, 'kept');
        next();
      });
      // Express's "after next()": the route's handler has run synchronously.
      app.use((_req, res, next) => {
        next();
        if (!res.headersSent) res.setHeader(AFTER_HEADER, 'kept');
      });
      for (const { method, path, produce, options } of endpoints) {
        app[method](
          path,
          expressSse(
            (writer, req) =>
              produce(
                writer,
                fromHeaders((n) => req.headers[n]),
              ),
            options,
          ),
        );
      }
      app.use(
        (
          error: unknown,
          _req: express.Request,
          res: express.Response,
          _next: express.NextFunction,
        ) => {
          frameworkErrors.push(error);
          res.status(503).set('x-error-path', name).send('framework error');
        },
      );
      return listen(createServer(app), frameworkErrors);
    },
  };
}

function koaTarget(name: string, Framework: typeof Koa): Target {
  return {
    name,
    toggle: true,
    errorStatus: 503,
    errorMarker: true,
    http2: true,
    start(endpoints, http2 = false) {
      const frameworkErrors: unknown[] = [];
      const app = new Framework();
      app.silent = true;
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          frameworkErrors.push(error);
          ctx.status = 503;
          ctx.set('x-error-path', name);
          ctx.body = 'framework error';
        }
      });
      app.use(conditional());
      app.use(etagKoa());
      app.use(koaCompress({ threshold: 0 }));
      app.use(bodyParser());
      app.use(async (ctx, next) => {
        ctx.set(UPSTREAM_HEADER, 'kept');
        await next();
      });
      app.use(async (ctx, next) => {
        await next();
        ctx.set(AFTER_HEADER, 'kept');
      });
      const router = new Router();
      for (const { method, path, produce, options } of endpoints) {
        router[method](
          path,
          koaSse(
            (writer, ctx) =>
              produce(
                writer,
                fromHeaders((n) => ctx.get(n) || undefined),
              ),
            options,
          ),
        );
      }
      app.use(router.routes());
      const server = http2 ? createHttp2Server(app.callback()) : createServer(app.callback());
      return listen(server, frameworkErrors);
    },
  };
}

const honoTarget: Target = {
  name: 'hono (@hono/node-server)',
  toggle: true,
  errorStatus: 503,
  errorMarker: true,
  http2: true,
  start(endpoints, http2 = false) {
    const frameworkErrors: unknown[] = [];
    const app = new Hono();
    app.use(etag());
    app.use(compress({ threshold: 0 }));
    app.use(secureHeaders());
    app.use(timing());
    app.use(cors());
    app.use(async (c, next) => {
      c.header(UPSTREAM_HEADER, 'kept');
      await next();
    });
    app.use(async (c, next) => {
      await next();
      c.header(AFTER_HEADER, 'kept');
    });
    for (const { method, path, produce, options } of endpoints) {
      app[method](
        path,
        honoSse(
          (writer, c) =>
            produce(
              writer,
              fromHeaders((n) => c.req.header(n)),
            ),
          options,
        ),
      );
    }
    app.onError((error, c) => {
      frameworkErrors.push(error);
      return c.text('framework error', 503, { 'x-error-path': 'hono' });
    });
    const server = createAdaptorServer({
      fetch: app.fetch,
      ...(http2 ? { createServer: createHttp2Server } : {}),
    });
    return listen(server, frameworkErrors);
  },
};

const nodeTarget: Target = {
  name: 'node:http (ssekit/node)',
  toggle: false,
  errorStatus: 500,
  errorMarker: false,
  http2: true,
  start(endpoints, http2 = false) {
    const routes = new Map(
      endpoints.map(({ method, path, produce, options }) => [
        `${method.toUpperCase()} ${path}`,
        nodeSse(
          (writer, req) =>
            produce(
              writer,
              fromHeaders((n) => req.headers[n]),
            ),
          options,
        ),
      ]),
    );
    const listener: Parameters<typeof createServer>[1] = (req, res) => {
      const route = routes.get(`${req.method} ${req.url?.split('?')[0]}`);
      if (!route) return void res.writeHead(404).end();
      res.setHeader(UPSTREAM_HEADER, 'kept');
      route(req, res);
      if (!res.headersSent) res.setHeader(AFTER_HEADER, 'kept');
    };
    const server = http2
      ? createHttp2Server(listener as unknown as Parameters<typeof createHttp2Server>[0])
      : createServer(listener);
    return listen(server, []);
  },
};

/** The six targets of issue 3. */
export const targets: Target[] = [
  expressTarget('express 4', express4),
  expressTarget('express 5', express),
  koaTarget('koa 2', Koa2),
  koaTarget('koa 3', Koa),
  honoTarget,
  nodeTarget,
];

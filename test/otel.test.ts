/**
 * OpenTelemetry (issue 12, item 4), through the real SDKs' in-memory exporters: the metrics and
 * the one span per stream equal what the client received (events, bytes, end reason) for done,
 * abort, error, overflow, drain and limit endings; the span ends at the stream's end, after the
 * request's span, and is linked to it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  type Context,
  context,
  type ContextManager,
  metrics,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import {
  type CollectionResult,
  type HistogramMetricData,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { drain, type SseOptions, type SseWriter } from 'ssekit';
import { sse } from 'ssekit/node';
import { otelLifecycle } from 'ssekit/otel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deferred, EventReader, rawRequest, until } from './conformance/clients.js';
import { aborted, serve } from './integrations/helpers.js';

/** The context manager HTTP instrumentation installs, on AsyncLocalStorage. */
class StorageContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

class Reader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const reader = new Reader();
const meterProvider = new MeterProvider({ readers: [reader] });
const tracer = tracerProvider.getTracer('test');
const lifecycle = otelLifecycle({
  meter: meterProvider.getMeter('ssekit-test'),
  tracer,
  attributes: { 'http.route': '/s' },
});

beforeAll(() => {
  context.setGlobalContextManager(new StorageContextManager());
});
afterAll(async () => {
  context.disable();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
});

const bytes = (text: string): number => new TextEncoder().encode(text).byteLength;

/**
 * A node:http server whose listener runs in a request span, ended as soon as the listener
 * returns (at the headers), as tracing middleware does.
 */
async function start(
  produce: (writer: SseWriter) => unknown,
  options: SseOptions<unknown, IncomingMessage> = {},
) {
  const listener = sse((writer) => produce(writer) as undefined, {
    heartbeat: false,
    ...options,
    lifecycle,
  });
  const requestSpans: ReadableSpan[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const span = tracer.startSpan('GET /s', { kind: SpanKind.SERVER });
    requestSpans.push(span as unknown as ReadableSpan);
    context.with(trace.setSpan(context.active(), span), () => listener(req, res));
    span.end();
  });
  const url = await serve(server);
  return { url, server, requestSpans };
}

async function metric(
  name: string,
): Promise<
  CollectionResult['resourceMetrics']['scopeMetrics'][number]['metrics'][number] | undefined
> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((m) => m.descriptor.name === name);
}

/** The sum of a counter's points, or of those with `reason`. */
async function total(name: string, reason?: string): Promise<number> {
  const found = await metric(name);
  return (found?.dataPoints ?? [])
    .filter((p) => reason === undefined || p.attributes['ssekit.end_reason'] === reason)
    .reduce((sum, p) => sum + (p.value as number), 0);
}

/** The stream span whose request span is `request`. */
function streamSpanOf(request: ReadableSpan): ReadableSpan {
  const spans = exporter
    .getFinishedSpans()
    .filter(
      (s) => s.name === 'sse stream' && s.links[0]?.context.spanId === request.spanContext().spanId,
    );
  expect(spans).toHaveLength(1);
  return spans[0] as ReadableSpan;
}

interface Ending {
  name: string;
  reason: string;
  options?: SseOptions<unknown, IncomingMessage>;
  produce: (writer: SseWriter) => unknown;
  client?: (reader: EventReader, cut: () => void, server: object) => Promise<void>;
}

const endings: Ending[] = [
  {
    name: 'done',
    reason: 'done',
    options: { done: { data: '[DONE]' } },
    async produce(writer) {
      await writer.send('héllo');
      await writer.send({ token: '🌍' });
    },
  },
  {
    name: 'abort',
    reason: 'client_gone',
    async produce(writer) {
      await writer.send('one');
      await aborted(writer.signal);
    },
    async client(reader, cut) {
      await reader.waitFor(1);
      cut();
    },
  },
  {
    name: 'error',
    reason: 'error',
    async produce(writer) {
      await writer.send('a');
      throw new Error('model crashed');
    },
  },
  {
    name: 'overflow',
    reason: 'queue_overflow',
    options: { queueLimit: 20_000 },
    produce(writer) {
      for (let i = 0; i < 2_000 && !writer.closed; i++) void writer.send(`${i} ${'x'.repeat(200)}`);
    },
  },
  {
    name: 'drain',
    reason: 'drain',
    async produce(writer) {
      await writer.send('a');
      await aborted(writer.signal);
    },
    async client(reader, _cut, server) {
      await reader.waitFor(1);
      await drain({ server, window: 0, retry: 10, retryJitter: 0 });
    },
  },
  {
    name: 'limit',
    reason: 'limit',
    options: { maxLifetime: 60 },
    async produce(writer) {
      await writer.send('a');
      await aborted(writer.signal);
    },
  },
];

describe('otelLifecycle', () => {
  it.each(endings)(
    '$name: the span and the metrics equal what the client received',
    async ({ reason, options, produce, client }) => {
      const eventsBefore = await total('ssekit.stream.events');
      const bytesBefore = await total('ssekit.stream.bytes');
      const endsBefore = await total('ssekit.stream.ends', reason);
      const { url, server, requestSpans } = await start(produce, options);
      const { req, res } = await rawRequest(`${url}/s`, { headers: { 'accept-encoding': '' } });
      const body = new EventReader(res);
      await (client ? client(body, () => req.destroy(), server) : body.ended);
      await body.ended;
      await until(
        () =>
          exporter
            .getFinishedSpans()
            .some(
              (s) =>
                s.name === 'sse stream' &&
                s.links[0]?.context.spanId === requestSpans[0]?.spanContext().spanId,
            ),
        'the stream span',
      );

      const sent = body.events.filter(
        (e) =>
          !['error', 'ssekit.drain', 'ssekit.limit'].includes(e.event ?? '') && e.data !== '[DONE]',
      ).length;
      const request = requestSpans[0] as ReadableSpan;
      const span = streamSpanOf(request);
      expect(span.attributes['ssekit.end_reason']).toBe(reason);
      expect(span.attributes['ssekit.events']).toBe(sent);
      expect(span.attributes['ssekit.bytes']).toBe(bytes(body.raw));
      expect(span.attributes['http.route']).toBe('/s');
      // A child of the request's span, linked to it, ending after it: at the stream's end.
      expect(span.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(span.spanContext().traceId).toBe(request.spanContext().traceId);
      expect(request.ended).toBe(true);
      expect(span.endTime[0] * 1e9 + span.endTime[1]).toBeGreaterThan(
        request.endTime[0] * 1e9 + request.endTime[1],
      );
      const failed = reason === 'error' || reason === 'queue_overflow';
      expect(span.status.code).toBe(failed ? SpanStatusCode.ERROR : SpanStatusCode.UNSET);
      expect(span.events.map((e) => e.name)).toContain('ssekit.first_event');

      expect((await total('ssekit.stream.events')) - eventsBefore).toBe(sent);
      expect((await total('ssekit.stream.bytes')) - bytesBefore).toBe(bytes(body.raw));
      expect((await total('ssekit.stream.ends', reason)) - endsBefore).toBe(1);
      expect(await total('ssekit.streams.active')).toBe(0);
    },
  );

  it('records time to first event and duration histograms, one point per stream', async () => {
    const duration = (await metric('ssekit.stream.duration')) as HistogramMetricData | undefined;
    const counted = (duration?.dataPoints ?? []).reduce((n, p) => n + p.value.count, 0);
    expect(counted).toBe(endings.length);
    const first = (await metric('ssekit.stream.time_to_first_event')) as HistogramMetricData;
    expect(first.dataPoints.reduce((n, p) => n + p.value.count, 0)).toBe(endings.length);
    expect(first.descriptor.unit).toBe('s');
  });

  it('counts active streams while they are open', async () => {
    const hold = deferred();
    const { url } = await start(async (writer) => {
      await writer.send('x');
      await hold.promise;
    });
    const { res } = await rawRequest(`${url}/s`);
    const body = new EventReader(res);
    await body.waitFor(1);
    expect(await total('ssekit.streams.active')).toBe(1);
    hold.resolve();
    await body.ended;
    await until(() => exporter.getFinishedSpans().length > 0, 'spans');
    expect(await total('ssekit.streams.active')).toBe(0);
  });

  it('reports drain progress as gauges', async () => {
    const { url, server } = await start(async (writer) => {
      await writer.send('x');
      await aborted(writer.signal);
    });
    const { res } = await rawRequest(`${url}/s`);
    const body = new EventReader(res);
    await body.waitFor(1);
    const draining = drain({ server, window: 0, deadline: 5_000 });
    expect((await metric('ssekit.draining'))?.dataPoints[0]?.value).toBe(1);
    await draining;
    await body.ended;
    const ended = (await metric('ssekit.drain.ended'))?.dataPoints[0]?.value as number;
    expect(ended).toBeGreaterThanOrEqual(2); // this drain and the one of the drain ending above
    expect((await metric('ssekit.drain.open'))?.dataPoints[0]?.value).toBe(0);
  });

  it("starts a trace of its own, linked to the request's span, with parent: 'link'", async () => {
    const linked = otelLifecycle({
      meter: false,
      tracer,
      spanName: 'linked stream',
      parent: 'link',
    });
    const listener = sse(() => ['a'], { lifecycle: linked });
    let request: ReadableSpan | undefined;
    const url = await serve(
      createServer((req, res) => {
        const span = tracer.startSpan('GET /');
        request = span as unknown as ReadableSpan;
        context.with(trace.setSpan(context.active(), span), () => listener(req, res));
        span.end();
      }),
    );
    const { res } = await rawRequest(url);
    await new EventReader(res).ended;
    await until(() => exporter.getFinishedSpans().some((s) => s.name === 'linked stream'), 'span');
    const span = exporter
      .getFinishedSpans()
      .find((s) => s.name === 'linked stream') as ReadableSpan;
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.spanContext().traceId).not.toBe(request?.spanContext().traceId);
    expect(span.links[0]?.context.spanId).toBe(request?.spanContext().spanId);
  });

  it('uses the global meter and tracer providers by default', async () => {
    metrics.setGlobalMeterProvider(meterProvider);
    trace.setGlobalTracerProvider(tracerProvider);
    try {
      const listener = sse(() => ['a', 'b'], { lifecycle: otelLifecycle({ spanName: 'global' }) });
      const url = await serve(createServer((req, res) => listener(req, res)));
      const { res } = await rawRequest(url);
      await new EventReader(res).ended;
      await until(() => exporter.getFinishedSpans().some((s) => s.name === 'global'), 'span');
      const span = exporter.getFinishedSpans().find((s) => s.name === 'global') as ReadableSpan;
      expect(span.attributes['ssekit.events']).toBe(2);
      const { resourceMetrics } = await reader.collect();
      const scopes = resourceMetrics.scopeMetrics.map((scope) => scope.scope.name);
      expect(scopes).toContain('ssekit');
    } finally {
      metrics.disable();
      trace.disable();
    }
  });

  it('names a bad parent option', () => {
    expect(() => otelLifecycle({ parent: 'sibling' as never })).toThrow(/`parent`/);
  });
});

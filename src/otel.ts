/**
 * OpenTelemetry for ssekit streams, through `@opentelemetry/api` only (an optional peer
 * dependency: the core never imports it, this entry does). {@link otelLifecycle} makes the
 * `lifecycle` hooks that record metrics (active streams, time to first event, duration, events,
 * bytes, ends by reason, resume outcomes, drain progress) and one span per stream that ends when
 * the stream ends, not when the headers went out.
 * @module ssekit/otel
 */
import {
  type Attributes,
  context,
  type Counter,
  type Histogram,
  type Link,
  type Meter,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
  type UpDownCounter,
} from '@opentelemetry/api';
import { drainStatus, SseError, type StreamLifecycle, type StreamStats } from './index.js';

/** Options of {@link otelLifecycle}. */
export interface OtelOptions {
  /**
   * The meter metrics are recorded with; `false` records none. The global meter is read when
   * {@link otelLifecycle} is called: start the OpenTelemetry SDK first (the metrics API, unlike the
   * tracing API, has no proxy that picks up a provider registered later).
   * @defaultValue `metrics.getMeter('ssekit')` (the global meter provider)
   */
  meter?: Meter | false | undefined;
  /**
   * The tracer stream spans are made with; `false` makes none.
   * @defaultValue `trace.getTracer('ssekit')` (the global tracer provider)
   */
  tracer?: Tracer | false | undefined;
  /**
   * Attributes put on every metric point and span, e.g. `{ 'http.route': '/chat' }`. Keep them of
   * low cardinality: they label metrics.
   * @defaultValue none
   */
  attributes?: Attributes | undefined;
  /**
   * The stream span's name.
   * @defaultValue `'sse stream'`
   */
  spanName?: string | undefined;
  /**
   * How the stream span relates to the span active when the stream starts (the request's span,
   * under HTTP instrumentation): `'child'` makes it a child in the same trace, with a link to it
   * as well; `'link'` starts a trace of its own with a link to it (for backends that cut traces at
   * the request's end).
   * @defaultValue `'child'`
   */
  parent?: 'child' | 'link' | undefined;
}

/** The metric instruments, made once per meter. */
interface Instruments {
  readonly active: UpDownCounter;
  readonly firstEvent: Histogram;
  readonly duration: Histogram;
  readonly events: Counter;
  readonly bytes: Counter;
  readonly heartbeats: Counter;
  readonly ends: Counter;
  readonly resumes: Counter;
}

const instrumentsByMeter = new WeakMap<Meter, Instruments>();

function instrumentsFor(meter: Meter): Instruments {
  const known = instrumentsByMeter.get(meter);
  if (known) return known;
  const made: Instruments = {
    active: meter.createUpDownCounter('ssekit.streams.active', {
      description: 'Streams open now',
      unit: '{stream}',
    }),
    firstEvent: meter.createHistogram('ssekit.stream.time_to_first_event', {
      description: "Time from a stream's start to its producer's first event (time to first token)",
      unit: 's',
    }),
    duration: meter.createHistogram('ssekit.stream.duration', {
      description: 'How long streams lived, by end reason',
      unit: 's',
    }),
    events: meter.createCounter('ssekit.stream.events', {
      description: 'Events producers sent (counted when their stream ends)',
      unit: '{event}',
    }),
    bytes: meter.createCounter('ssekit.stream.bytes', {
      description: 'Bytes sent on streams (counted when their stream ends)',
      unit: 'By',
    }),
    heartbeats: meter.createCounter('ssekit.stream.heartbeats', {
      description: 'Heartbeat comments sent',
      unit: '{heartbeat}',
    }),
    ends: meter.createCounter('ssekit.stream.ends', {
      description: 'Streams ended, by reason (done, client_gone, error, queue_overflow, …)',
      unit: '{stream}',
    }),
    resumes: meter.createCounter('ssekit.stream.resumes', {
      description: 'Resumable streams by outcome (new, continued, reset)',
      unit: '{stream}',
    }),
  };
  // Drain progress, read when the metrics are collected.
  meter
    .createObservableGauge('ssekit.drain.open', {
      description: 'Streams a drain still waits for',
      unit: '{stream}',
    })
    .addCallback((result) => result.observe(drainStatus().open));
  meter
    .createObservableGauge('ssekit.drain.ended', {
      description: 'Streams drains have ended or cut so far',
      unit: '{stream}',
    })
    .addCallback((result) => result.observe(drainStatus().ended));
  meter
    .createObservableGauge('ssekit.draining', {
      description: '1 while a drain is under way in this process, else 0',
    })
    .addCallback((result) => result.observe(drainStatus().draining ? 1 : 0));
  instrumentsByMeter.set(meter, made);
  return made;
}

/**
 * Makes `lifecycle` hooks that report an endpoint's streams to OpenTelemetry: metrics
 * (`ssekit.streams.active`, `ssekit.stream.time_to_first_event`, `ssekit.stream.duration`,
 * `ssekit.stream.events`, `ssekit.stream.bytes`, `ssekit.stream.heartbeats`,
 * `ssekit.stream.ends` and `ssekit.stream.resumes` by `ssekit.end_reason` or `ssekit.resume`, and
 * the gauges `ssekit.drain.open`, `ssekit.drain.ended`, `ssekit.draining`) and one span per
 * stream, linked to the request's span, ended at the stream's end with `ssekit.end_reason`,
 * `ssekit.events`, `ssekit.bytes` and an error status when the producer failed.
 *
 * @throws `SseError` `INVALID_OPTION` naming the option.
 *
 * @example An Express endpoint with metrics and spans
 * ```ts
 * import { sse } from 'ssekit/express';
 * import { otelLifecycle } from 'ssekit/otel';
 *
 * const lifecycle = otelLifecycle({ attributes: { 'http.route': '/chat' } });
 * app.get('/chat', sse(handler, { lifecycle }));
 * ```
 */
export function otelLifecycle(options: OtelOptions = {}): StreamLifecycle {
  const { attributes = {}, spanName = 'sse stream', parent = 'child' } = options;
  if (parent !== 'child' && parent !== 'link') {
    throw new SseError('INVALID_OPTION', "`parent` must be 'child' or 'link'", { field: 'parent' });
  }
  const meter = options.meter === undefined ? metrics.getMeter('ssekit') : options.meter;
  const tracer = options.tracer === undefined ? trace.getTracer('ssekit') : options.tracer;
  const instruments = meter === false ? undefined : instrumentsFor(meter);
  const spans = new WeakMap<StreamStats, Span>();

  function startSpan(stats: StreamStats, using: Tracer): void {
    const active = context.active();
    const request = trace.getSpan(active);
    const links: Link[] = request ? [{ context: request.spanContext() }] : [];
    const span = using.startSpan(
      spanName,
      {
        kind: SpanKind.INTERNAL,
        attributes,
        links,
        startTime: stats.startedAt,
        root: parent === 'link',
      },
      active,
    );
    spans.set(stats, span);
  }

  return {
    onStart(stats) {
      instruments?.active.add(1, attributes);
      if (tracer !== false) startSpan(stats, tracer);
    },
    onFirstEvent(stats) {
      const seconds = (stats.timeToFirstEvent ?? 0) / 1000;
      instruments?.firstEvent.record(seconds, attributes);
      spans.get(stats)?.addEvent('ssekit.first_event', { 'ssekit.time_to_first_event': seconds });
    },
    onEnd(stats) {
      const reason = stats.reason ?? 'done';
      const ended: Attributes = { ...attributes, 'ssekit.end_reason': reason };
      if (instruments) {
        instruments.active.add(-1, attributes);
        instruments.duration.record((stats.duration ?? 0) / 1000, ended);
        instruments.events.add(stats.events, attributes);
        instruments.bytes.add(stats.bytes, attributes);
        instruments.heartbeats.add(stats.heartbeats, attributes);
        instruments.ends.add(1, ended);
        if (stats.resume !== undefined)
          instruments.resumes.add(1, { ...attributes, 'ssekit.resume': stats.resume });
      }
      const span = spans.get(stats);
      if (span === undefined) return;
      spans.delete(stats);
      span.setAttributes({
        'ssekit.end_reason': reason,
        'ssekit.events': stats.events,
        'ssekit.bytes': stats.bytes,
        'ssekit.heartbeats': stats.heartbeats,
      });
      if (stats.resume !== undefined) span.setAttribute('ssekit.resume', stats.resume);
      if (reason === 'error' || reason === 'queue_overflow') {
        if (stats.error instanceof Error) span.recordException(stats.error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
      }
      span.end();
    },
  };
}

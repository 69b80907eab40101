/** The client's types: event names narrow the data, the reset event is always in the union. */
import { describe, expectTypeOf, it } from 'vitest';
import { type ClientEvent, connect, type SseStream } from 'ssekit/client';

type Agent = { token: string; final: { output: string } };

describe('ssekit/client types', () => {
  it('narrows data by event name', () => {
    const check = (event: ClientEvent<Agent>): void => {
      if (event.event === 'final') expectTypeOf(event.data).toEqualTypeOf<{ output: string }>();
      if (event.event === 'token') expectTypeOf(event.data).toEqualTypeOf<string>();
      if (event.event === 'ssekit.reset') expectTypeOf(event.data.reason).toBeString();
    };
    expectTypeOf(check).toBeFunction();
  });

  it('defaults to text message events, and takes the map as a type argument', () => {
    expectTypeOf(connect('/x')).toEqualTypeOf<SseStream<{ message: string }>>();
    expectTypeOf(connect<Agent>('/x')).toEqualTypeOf<SseStream<Agent>>();
    expectTypeOf<ClientEvent['event']>().toEqualTypeOf<'message' | 'ssekit.reset'>();
  });
});

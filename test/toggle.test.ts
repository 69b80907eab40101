/**
 * The stream toggle's default rule (src/toggle.ts): one reading of the `stream` flag for every
 * adapter (issue 8, item 9).
 */
import { parseStreamFlag, resolveEndpoint, streamRequested } from 'ssekit';
import { describe, expect, it } from 'vitest';

describe('streamRequested', () => {
  it('reads the body field first, then the query, then streams', () => {
    expect(streamRequested({ stream: 'False' }, 'true')).toBe(false);
    expect(streamRequested({ prompt: 'hi' }, '0')).toBe(false);
    expect(streamRequested(undefined, undefined)).toBe(true);
  });

  it('reads a query given as an array of one value as that value', () => {
    expect(streamRequested(undefined, ['false'])).toBe(false);
    expect(streamRequested(undefined, ['1'])).toBe(true);
  });

  it('reads a repeated query parameter as saying nothing, whatever its values', () => {
    for (const query of [['false', 'true'], ['0', '0'], ['true', 'false'], []]) {
      expect(streamRequested(undefined, query), query.join('&')).toBe(true);
    }
    // The body still decides.
    expect(streamRequested({ stream: false }, ['false', 'true'])).toBe(false);
  });

  it('reads an array in the body field as saying nothing', () => {
    expect(streamRequested({ stream: [false] }, undefined)).toBe(true);
  });
});

describe('parseStreamFlag', () => {
  it('knows the spellings of true and false, and nothing else', () => {
    for (const value of [true, 1, 'true', 'True', '1']) expect(parseStreamFlag(value)).toBe(true);
    for (const value of [false, 0, 'false', 'False', '0'])
      expect(parseStreamFlag(value)).toBe(false);
    for (const value of [undefined, null, '', 'yes', ['1'], {}]) {
      expect(parseStreamFlag(value)).toBeUndefined();
    }
  });
});

const rule = (request: { stream?: unknown }): boolean => streamRequested(request, undefined);

describe('resolveEndpoint', () => {
  it.each([0, -1, 1.5, '10', Number.NaN])(
    'refuses a json.limit of %s with INVALID_OPTION naming the field',
    (limit) => {
      expect(() => resolveEndpoint({ json: { limit: limit as number } }, rule)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION', field: 'json.limit' }),
      );
    },
  );

  it('answers a document that stays within its limit with 200', async () => {
    const { config, toggle } = resolveEndpoint({ json: { limit: 11 } }, rule);
    const document = await toggle?.collect(['Hello', ' world'], {}, config);
    expect(document).toMatchObject({ status: 200, body: '{"response":"Hello world"}' });
  });

  it('answers a document past its limit with a generic 500 and tells onError', async () => {
    const errors: unknown[] = [];
    const { config, toggle } = resolveEndpoint(
      { json: { limit: 10 }, onError: (error) => errors.push(error) },
      rule,
    );
    const document = await toggle?.collect(['Hello', ' world'], {}, config);
    expect(document).toMatchObject({ status: 500, body: '{"error":"Internal Server Error"}' });
    expect(document?.headers['content-length']).toBe('33');
    expect(errors).toEqual([expect.objectContaining({ code: 'DOCUMENT_TOO_LARGE' })]);
  });

  it('takes the endpoint queueLimit as the default limit', async () => {
    const { config, toggle } = resolveEndpoint({ json: true, queueLimit: 5 }, rule);
    const document = await toggle?.collect(['Hello', ' world'], {}, config);
    expect(document?.status).toBe(500);
  });
});

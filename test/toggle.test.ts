import { describe, expect, it } from 'vitest';
import { resolveEndpoint, streamRequested } from '../src/index.js';

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

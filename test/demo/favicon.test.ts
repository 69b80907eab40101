/**
 * The demo page has a favicon: the page links it, and every demo app serves it (so browsers show
 * an icon in the tab and log no 404 for /favicon.ico).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { frameworks, type Stack, startStack } from './helpers.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe.each(frameworks)('the %s demo app', (framework) => {
  it('links its favicon from the page and serves it as SVG', async () => {
    stack = await startStack(framework);
    const html = await (await fetch(`${stack.demo.url}/`)).text();
    const href = /<link rel="icon" type="image\/svg\+xml" href="([^"]+)"/.exec(html)?.[1];
    expect(href).toBe('/favicon.svg');
    const icon = await fetch(`${stack.demo.url}${href}`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const svg = await icon.text();
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });
});

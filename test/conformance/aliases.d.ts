// The suite runs Express 4 and Koa 2 through npm aliases; their APIs used here match the
// current type packages (@types/express 5, @types/koa 3). koa-conditional-get ships no types.
declare module 'express4' {
  import express from 'express';
  export default express;
}
declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
declare module 'koa-conditional-get' {
  import type { Middleware } from 'koa';
  export default function conditional(): Middleware;
}

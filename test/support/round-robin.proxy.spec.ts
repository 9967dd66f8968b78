import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { rawGet } from './raw-http.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin.proxy.js';

/** A plain node:http target that names itself and echoes what it was sent. */
async function target(name: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/teapot') {
        res.writeHead(418, 'Short And Stout', { 'content-type': 'text/plain' });
        res.end('no coffee');
        return;
      }
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/plain' }); // chunked: no length
        let n = 0;
        const tick = setInterval(() => {
          res.write(`part${n} `);
          if (++n === 3) {
            clearInterval(tick);
            res.end();
          }
        }, 5);
        return;
      }
      res.setHeader('Set-Cookie', [`a=${name}; Path=/`, 'b=2; HttpOnly', 'c=3']);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          name,
          method: req.method,
          url: req.url,
          rawHeaders: req.rawHeaders,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
}

const urlOf = (server: http.Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

describe('round-robin proxy (test support)', () => {
  let a: http.Server;
  let b: http.Server;
  let proxy: RoundRobinProxy;

  beforeAll(async () => {
    a = await target('A');
    b = await target('B');
    proxy = await startRoundRobinProxy([urlOf(a), urlOf(b)]);
  });
  afterAll(async () => {
    await proxy?.close();
    for (const server of [a, b]) server?.closeAllConnections();
    await Promise.all([a, b].map((s) => new Promise((resolve) => s?.close(resolve))));
  });

  it('alternates the targets request by request', async () => {
    const names: string[] = [];
    for (let i = 0; i < 6; i++) names.push((await request(proxy.url).get('/')).body.name);
    expect(names.join('')).toMatch(/^(AB){3}$|^(BA){3}$/);
    // also on one kept-alive connection
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const viaOne: string[] = [];
    for (let i = 0; i < 4; i++) {
      viaOne.push(
        await new Promise<string>((resolve, reject) => {
          http
            .get(`${proxy.url}/`, { agent }, (res) => {
              let text = '';
              res.on('data', (chunk) => (text += chunk));
              res.on('end', () => resolve(JSON.parse(text).name));
            })
            .on('error', reject);
        }),
      );
    }
    agent.destroy();
    expect(new Set([viaOne[0], viaOne[1]]).size).toBe(2);
    expect(viaOne[2]).toBe(viaOne[0]);
    expect(viaOne[3]).toBe(viaOne[1]);
  });

  it('passes method, path, query, repeated request headers and the body through', async () => {
    const res = await request(proxy.url)
      .put('/some/path?x=1&y=%20')
      .set('Cookie', 'sid=abc.def; other=1')
      .send({ hello: 'world' });
    expect(res.status).toBe(200);
    expect(res.body.method).toBe('PUT');
    expect(res.body.url).toBe('/some/path?x=1&y=%20');
    expect(JSON.parse(res.body.body)).toEqual({ hello: 'world' });
    const raw = res.body.rawHeaders as string[];
    expect(raw[raw.findIndex((h) => h.toLowerCase() === 'cookie') + 1]).toBe(
      'sid=abc.def; other=1',
    );
    expect(raw[raw.findIndex((h) => h.toLowerCase() === 'host') + 1]).toBe(
      proxy.url.slice('http://'.length),
    );
    // repeated headers: each one, in order, with its case
    const twice = JSON.parse(
      (await rawGet(proxy.port, '/', ['X-Twice: one', 'x-twice: two', 'Cookie: sid=v'])).body,
    ).rawHeaders as string[];
    expect(twice.filter((_, i) => i % 2 === 0 && /^x-twice$/i.test(twice[i]))).toEqual([
      'X-Twice',
      'x-twice',
    ]);
    expect(twice[twice.indexOf('X-Twice') + 1]).toBe('one');
    expect(twice[twice.indexOf('x-twice') + 1]).toBe('two');
    // connection management is each hop's own: the client's `Connection: close` stays here
    expect(twice.filter((h) => /^connection$/i.test(h))).toHaveLength(1);
    expect(twice[twice.findIndex((h) => /^connection$/i.test(h)) + 1]).toBe('keep-alive');
  });

  it('keeps several Set-Cookie headers, the status code and its message', async () => {
    const res = await request(proxy.url).get('/');
    expect(res.headers['set-cookie']).toEqual([
      expect.stringMatching(/^a=[AB]; Path=\/$/),
      'b=2; HttpOnly',
      'c=3',
    ]);
    const teapot = await rawGet(proxy.port, '/teapot', []);
    expect(teapot.status).toBe(418);
    expect(teapot.body).toBe('no coffee');
    const line = await new Promise<string>((resolve) =>
      http.get(`${proxy.url}/teapot`, (r) => {
        r.resume();
        resolve(`${r.statusCode} ${r.statusMessage}`);
      }),
    );
    expect(line).toBe('418 Short And Stout');
  });

  it('streams a chunked answer', async () => {
    const res = await rawGet(proxy.port, '/stream', []);
    expect(res.status).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.body).toBe('part0 part1 part2 ');
  });

  it('answers 502 when a target is down, and goes on with the other', async () => {
    const dead = await target('dead');
    const deadUrl = urlOf(dead);
    await new Promise((resolve) => dead.close(resolve));
    const live = await target('live');
    const mixed = await startRoundRobinProxy([deadUrl, urlOf(live)]);
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await request(mixed.url).get('/')).status);
      expect(statuses).toEqual([502, 200, 502, 200]);
      expect(mixed.forwarded).toEqual([2, 2]);
    } finally {
      await mixed.close();
      live.closeAllConnections();
      await new Promise((resolve) => live.close(resolve));
    }
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type CallbackServer, startCallbackServer } from './helpers/callback-server.js';
import { FROM, startSim } from './helpers/harness.js';

const TO = '+14155550123';

async function timed(action: () => Promise<void>): Promise<number> {
  const started = Date.now();
  await action();
  return Date.now() - started;
}

describe('close()', () => {
  it('cancels pending status changes and callbacks', async () => {
    const server: CallbackServer = await startCallbackServer();
    const h = await startSim({ callbackDelayMs: 5000 });
    await h.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: server.url });
    expect(await timed(() => h.sim.close())).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.received).toEqual([]);
    await server.close();
  });

  it('releases requests held by the timeout fault', async () => {
    const h = await startSim();
    await h.control('POST', '/_sim/faults', { timeoutRate: 1 });
    const pending = h.client.messages.create({ to: TO, from: FROM, body: 'x' }).catch((e: unknown) => e);
    await expect.poll(() => h.sim.state.received.length).toBe(1);
    expect(await timed(() => h.sim.close())).toBeLessThan(1000);
    expect(await pending).toMatchObject({ code: 'ECONNRESET' });
  });

  it('waits for an in-flight callback, aborting it if the endpoint never answers', async () => {
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/cb`;
    const h = await startSim({ callbackDelayMs: 10 });
    await h.client.messages.create({ to: TO, from: FROM, body: 'x', statusCallback: url });
    await expect.poll(() => h.sim.state.message(h.sim.state.received[0]?.message?.sid ?? '')?.status).toBe('sent');
    const took = await timed(() => h.sim.close());
    expect(took).toBeLessThan(3000);
    expect(h.sim.state.received[0]?.callbacks).toEqual([expect.objectContaining({ status: 'sent', httpStatus: null })]);
    hanging.closeAllConnections();
    await new Promise((resolve) => hanging.close(resolve));
  });
});

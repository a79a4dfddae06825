import { startTestApp } from './support/app.js';
const t = await startTestApp('sqlite+local', { env: { LOG_LEVEL: 'warn' } });
const m = t.clients.member;
await m.adminAddCpoint({ requestId: 'f', uid: 'u1', cpoint: '10.00', adminId: 'ops' });
const N = Number(process.argv[2] ?? 3000);
const delay = Number(process.argv[3] ?? 1);
let done = false;
const by: Record<string, number> = {};
const bystander = (async () => { while (!done) { try { await m.getCpoint({ uid: 'u1' }); by.ok = (by.ok ?? 0) + 1; } catch (e) { const k = String((e as {code:number}).code) + ' ' + (e as Error).message.slice(0, 80); by[k] = (by[k] ?? 0) + 1; } } })();
const ps: Promise<unknown>[] = [];
for (let i = 0; i < N; i++) {
  const ac = new AbortController();
  ps.push(m.getCpoint({ uid: `x${i}` }, { signal: ac.signal }).then(() => 'ok', (e: unknown) => String((e as {code:number}).code) + ' ' + (e as Error).message.slice(0, 60)));
  setTimeout(() => ac.abort(), delay);
  if (i % 50 === 0) await new Promise((r) => setTimeout(r, 2));
}
const codes = await Promise.all(ps);
done = true; await bystander;
const hist: Record<string, number> = {};
for (const c of codes) hist[String(c)] = (hist[String(c)] ?? 0) + 1;
console.log('burst', hist);
console.log('bystander', by);
await t.stop();

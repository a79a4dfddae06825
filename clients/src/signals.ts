/**
 * One 'abort' listener per signal however many calls share it: each call registers its cancel
 * function and unregisters it when it ends, and the listener goes when the last call does.
 * Listeners left behind by finished calls are what made 50 calls on one signal warn
 * MaxListenersExceededWarning (issue 18); one per signal also keeps concurrent calls quiet.
 */
type Cancel = (reason: unknown) => void;

const pending = new WeakMap<AbortSignal, { readonly cancels: Set<Cancel>; readonly listener: () => void }>();

/** Calls `cancel` when `signal` aborts, until the returned function is called. */
export function onAbort(signal: AbortSignal, cancel: Cancel): () => void {
  let entry = pending.get(signal);
  if (entry === undefined) {
    const cancels = new Set<Cancel>();
    const listener = (): void => {
      pending.delete(signal);
      for (const c of cancels) c(signal.reason);
    };
    entry = { cancels, listener };
    pending.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { cancels, listener } = entry;
  cancels.add(cancel);
  return () => {
    if (!cancels.delete(cancel) || cancels.size > 0) return;
    if (pending.get(signal)?.cancels === cancels) pending.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}

import { findHandlerKey } from '../protocol/vocabulary/identifierMatching.js';
import { identifierPatternSchema } from '../protocol/identifiers.js';
import { isPermitted, type Manifest } from './discovery.js';
import type { TaskHandler } from './taskRunner.js';

/**
 * The launch handlers, by identifier or `.*` family. Registration is open until the handshake with the
 * daemon starts ({@link close}); after that the set only shrinks (the daemon may reject some).
 */
export class HandlerRegistry {
  readonly #handlers = new Map<string, TaskHandler>();
  readonly #manifest: () => Manifest | null;
  #open = true;

  /** @param manifest The app's manifest, or null when unknown (then the daemon alone decides). */
  constructor(manifest: () => Manifest | null) {
    this.#manifest = manifest;
  }

  /** Whether registration is still open (the handshake has not started). */
  get open(): boolean {
    return this.#open;
  }

  /** Ends registration. */
  close(): void {
    this.#open = false;
  }

  /** Registers a handler; returns why it was refused, or null when it was registered. */
  add(identifier: unknown, handler: unknown): string | null {
    if (typeof identifier !== 'string' || !identifierPatternSchema.safeParse(identifier).success) {
      return 'expected a reverse-DNS identifier, or a family ending in ".*"';
    }
    if (typeof handler !== 'function') return `expected a function as the handler, got ${typeof handler}`;
    if (!this.#open) {
      return (
        'handlers must be registered at start-up, before the handshake with the daemon (it starts on the ' +
        'event-loop turn after the first use of BGTaskScheduler.shared)'
      );
    }
    if (this.#handlers.has(identifier)) return 'a handler is already registered for it';
    let manifest: Manifest | null = null;
    try {
      manifest = this.#manifest();
    } catch {
      // An unreadable manifest is reported at connect time; the daemon checks registrations anyway.
    }
    if (manifest && !isPermitted(manifest, identifier)) {
      return `it is not in permittedIdentifiers of ${manifest.file} (add it, then run \`bgtasks install\` again)`;
    }
    this.#handlers.set(identifier, handler as TaskHandler);
    return null;
  }

  remove(identifier: string): boolean {
    return this.#handlers.delete(identifier);
  }

  /** The identifiers and families registered, in registration order. */
  patterns(): string[] {
    return [...this.#handlers.keys()];
  }

  /** The handler for a concrete identifier: the exact one, else the most specific family. */
  lookup(identifier: string): TaskHandler | undefined {
    const key = findHandlerKey(this.#handlers.keys(), identifier);
    return key === undefined ? undefined : this.#handlers.get(key);
  }
}

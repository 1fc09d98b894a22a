import type { z } from 'zod';

/** Never a real key: it carries a command's result type (see {@link ControlSpec}). */
declare const resultType: unique symbol;

/**
 * One control command: its name on the wire, the schema of its arguments (the daemon checks them at the
 * boundary and names the field at fault), and the type of its result. The result is a type only: the
 * daemon is ours (the hello pins the protocol version), so the client trusts what it returns rather
 * than checking a second copy of every reply's shape. Adding a reply field is one edit to that type.
 */
export interface ControlSpec<N extends string = string, A extends z.ZodType = z.ZodType, R = unknown> {
  readonly name: N;
  readonly args: A;
  /** Never set: the result's type, which the daemon's handler must return and `ControlClient.call` gives. */
  readonly [resultType]?: R;
}

/** `controlCommand<Result>()('name', argsSchema)`: curried, because TypeScript infers all or none of a call's types. */
export function controlCommand<R>() {
  return <const N extends string, A extends z.ZodType>(name: N, args: A): ControlSpec<N, A, R> => ({ name, args });
}

/** The specs by name, keyed by their own `name` so the two cannot disagree. */
export type ControlRegistry<S extends readonly ControlSpec[]> = { readonly [K in S[number] as K['name']]: K };

export function controlRegistry<const S extends readonly ControlSpec[]>(...specs: S): ControlRegistry<S> {
  return Object.fromEntries(specs.map((spec) => [spec.name, spec])) as ControlRegistry<S>;
}

/** What a spec's command returns. */
export type ResultOf<S> = S extends ControlSpec<string, z.ZodType, infer R> ? R : never;

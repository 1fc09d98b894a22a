import { z } from 'zod';
import type { AppRecord } from '../../engine/types.js';
import { controlCommand } from './spec.js';

/** An app record as clients see it: without the credential hash. */
export type PublicApp = Omit<AppRecord, 'credentialHash'>;

export type InstallResult = PublicApp & {
  readonly reinstalled: boolean;
  /** The command that prints the app's push token. */
  readonly pushToken: string;
};

/** `bgtasks install DIR`: check an app's manifest, record it, issue it a credential. */
export const install = controlCommand<InstallResult>()(
  'install',
  z.strictObject({ dir: z.string().min(1).max(4096), rotateCredential: z.boolean().default(false) }),
);

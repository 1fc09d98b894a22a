// Types for scripts/importRules.mjs (plain JS so eslint.config.js can import it without a loader).
export interface FolderRule {
  readonly folder: string;
  readonly may: readonly string[];
  readonly typesFrom?: readonly string[];
  readonly node: boolean;
  readonly packages?: readonly string[];
  readonly why: string;
}
export declare const FOLDERS: readonly string[];
export declare const FOLDER_RULES: readonly FolderRule[];
export declare function fence(rule: FolderRule): { files: string[]; rules: Record<string, unknown> };

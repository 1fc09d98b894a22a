import { existsSync, readdirSync } from 'node:fs';

/** Where GPUs show up. Tests point these at fake trees. */
export interface ResourceRoots {
  /** @default '/dev' */
  readonly dev?: string;
}

/**
 * The hardware continued processing tasks can ask for (`requiredResources`), detected for real: every
 * machine has `cpu`; `gpu` when the kernel exposes a GPU (an NVIDIA device node, or a DRM render node
 * from any vendor's driver) on Linux, and always on macOS (Metal). Read once at start.
 */
export function detectResources(platform: NodeJS.Platform = process.platform, roots: ResourceRoots = {}): string[] {
  const resources = ['cpu'];
  if (platform === 'darwin') return [...resources, 'gpu'];
  if (platform !== 'linux') return resources;
  const dev = roots.dev ?? '/dev';
  const nvidia = existsSync(`${dev}/nvidia0`);
  let render = false;
  try {
    render = readdirSync(`${dev}/dri`).some((name) => name.startsWith('renderD'));
  } catch {
    // no DRM devices
  }
  if (nvidia || render) resources.push('gpu');
  return resources;
}

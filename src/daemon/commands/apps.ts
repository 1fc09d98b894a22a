/** The control commands that install, list and switch apps: `bgtasks install|uninstall|apps|open|quit`. */
import type { AppRecord, HistoryEventInput } from '../../engine/types.js';
import type { AppListing, PublicApp } from '../../protocol/control/index.js';
import type { ControlDeps } from '../control.js';
import { ensureCredential, hashCredential, removeCredential } from '../credentials.js';
import { DaemonError } from '../errors.js';
import { loadManifest } from '../manifest.js';
import type { ControlHandlers } from './handlers.js';

type AppCommand = 'install' | 'uninstall' | 'apps.token' | 'apps' | 'enable' | 'disable' | 'open' | 'quit';

export function appCommands(deps: ControlDeps): ControlHandlers<AppCommand> {
  const { scheduler } = deps;
  const switchTo = (enabled: boolean) => async (args: { appId?: string | undefined; all: boolean }) => {
    if (args.appId === undefined) {
      await scheduler.setBackgroundAppRefresh(enabled);
      return { backgroundAppRefresh: enabled };
    }
    return publicApp(await scheduler.setEnabled(args.appId, enabled));
  };
  return {
    install: ({ dir, rotateCredential }) => install(deps, dir, rotateCredential),
    uninstall: async ({ appId }) => {
      await scheduler.uninstallApp(appId);
      removeCredential(deps.home, appId);
      await deps.pushTokens.forget(appId);
      await deps.notifications.forget(appId);
      return { appId, uninstalled: true };
    },
    // The app's push token (issued at install); `rotate` replaces it.
    'apps.token': async ({ appId, rotate }) => {
      if (!scheduler.apps.get(appId)) {
        throw new DaemonError('unknownApp', `no app ${appId} is installed (see \`bgtasks apps\`)`, 'appId');
      }
      return { appId, ...(await deps.pushTokens.issue(appId, rotate)) };
    },
    apps: () => listApps(deps),
    enable: switchTo(true),
    disable: switchTo(false),
    open: ({ appId }) => ({ appId, result: scheduler.openApp(appId) }),
    quit: ({ appId }) => ({ appId, stopped: scheduler.quitApp(appId) }),
  };
}

async function install(deps: ControlDeps, dir: string, rotate: boolean) {
  const loaded = loadManifest(dir);
  const { appId } = loaded.manifest;
  const existing = deps.scheduler.apps.get(appId)?.record;
  if (existing && existing.dir !== loaded.dir) {
    const message = `${appId} is already installed from ${existing.dir}; uninstall it first`;
    throw new DaemonError('appIdTaken', message, 'appId');
  }
  const credential = ensureCredential(deps.home, appId, rotate);
  const now = deps.clock.now();
  const record: AppRecord = {
    appId,
    dir: loaded.dir,
    launch: loaded.launch,
    permittedIdentifiers: [...loaded.manifest.permittedIdentifiers],
    backgroundModes: loaded.backgroundModes,
    enabled: existing?.enabled ?? true,
    credentialHash: hashCredential(credential),
    installedAt: existing?.installedAt ?? now,
  };
  const event: HistoryEventInput = {
    at: now,
    appId,
    identifier: null,
    taskId: null,
    type: 'installed',
    reason: existing ? 'reinstalled' : null,
    detail: { dir: loaded.dir },
  };
  await deps.scheduler.installApp(record, event);
  await deps.pushTokens.issue(appId);
  return { ...publicApp(record), reinstalled: Boolean(existing), pushToken: `bgtasks apps token ${appId}` };
}

async function listApps({ scheduler }: ControlDeps): Promise<AppListing[]> {
  const all = [...scheduler.apps.all()];
  const ranOnce = new Map(
    await Promise.all(all.map(async (app) => [app.record.appId, await scheduler.ranOnce(app.record.appId)] as const)),
  );
  return all
    .map((app) => ({
      ...publicApp(app.record),
      usage: scheduler.usageOf(app.record.appId),
      running: app.instances.size > 0,
      processes: [...app.instances].map(({ pid, launchReason }) => ({ pid, launchReason })),
      pending: scheduler.queue.forApp(app.record.appId).length,
      activeTasks: scheduler.runs.countForApp(app.record.appId),
      ranOnce: ranOnce.get(app.record.appId) ?? [],
    }))
    .sort((a, b) => a.appId.localeCompare(b.appId));
}

/** An app record as clients see it: without the credential hash. */
function publicApp(record: AppRecord): PublicApp {
  const { credentialHash: _hidden, ...rest } = record;
  return rest;
}

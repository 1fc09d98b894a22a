import type { Clock, Disposable } from '../../engine/clock.js';
import type { NotificationAuthorization, NotificationRecord } from '../../engine/notifications.js';
import type { HistoryEventInput } from '../../engine/types.js';
import type { NotificationActionDelivery, NotificationInput } from '../../protocol/messages.js';
import type { Store } from '../../store/store.js';
import { DaemonError } from '../errors.js';
import type { SchedulerLog } from '../scheduler/ports.js';
import type { StoreWriter } from '../storeWriter.js';
import type { DesktopNotifier } from './desktopNotifier.js';

/** The setting that keeps each app's answer: `{ appId: 'granted' | 'denied' | 'requested' }`. */
export const AUTHORIZATION_SETTING = 'notifications.authorization';

type StoredAuthorization = 'granted' | 'denied' | 'requested';

export interface NotificationCenterDeps {
  readonly clock: Clock;
  readonly store: Store;
  readonly writer: StoreWriter;
  readonly log: SchedulerLog;
  readonly newId: () => string;
  /** Shows notifications on the desktop too; null where there is no notification service. */
  readonly desktop: DesktopNotifier | null;
  /** Whether the app is installed. */
  readonly installed: (appId: string) => boolean;
  /** Hands actions to a running process of the app that handles them; the process, or null when none does. */
  readonly hand: (appId: string, actions: readonly NotificationActionDelivery[]) => object | null;
  /** Whether that process is still connected. */
  readonly connected: (appId: string, process: object) => boolean;
  /** Starts the app as the person's launch, with launch reason `notificationAction`. */
  readonly launchForAction: (appId: string) => void;
}

/** An app's standing with the person: its answer, and whether it asked. */
export interface AuthorizationView {
  readonly appId: string;
  readonly status: NotificationAuthorization;
  /** True when the app asked and the person has not answered: the dashboard shows Allow and Deny. */
  readonly requested: boolean;
}

/**
 * User notifications: apps ask to post (`notifications.requestAuthorization()`), the person answers
 * (dashboard, `bgtasks notifications allow|deny APP`), authorized apps post, and the person's choice of
 * an action is handed to the app, launching it when it is not running. Every step is kept in the store,
 * so an action chosen while the daemon restarts still reaches the app.
 */
export class NotificationCenter implements Disposable {
  readonly #deps: NotificationCenterDeps;
  #authorizations: Record<string, StoredAuthorization> = {};
  readonly #listeners: Disposable[] = [];
  /** Actions handed to a process and not yet acknowledged, by notification id: not handed again while it lives. */
  readonly #inHand = new Map<string, { readonly appId: string; readonly process: object }>();

  private constructor(deps: NotificationCenterDeps) {
    this.#deps = deps;
    if (deps.desktop) {
      this.#listeners.push(
        deps.desktop.onAction((notificationId, actionId) => {
          this.act(notificationId, actionId).catch((error: unknown) =>
            deps.log.warn(
              `a desktop action could not be handled: ` + `${error instanceof Error ? error.message : String(error)}`,
              { notificationId, actionId },
            ),
          );
        }),
      );
    }
  }

  static async load(deps: NotificationCenterDeps): Promise<NotificationCenter> {
    const center = new NotificationCenter(deps);
    center.#authorizations = {
      ...((await deps.store.getSetting<Record<string, StoredAuthorization>>(AUTHORIZATION_SETTING)) ?? {}),
    };
    return center;
  }

  /** Where notifications show besides the dashboard. */
  get desktopKind(): string {
    return this.#deps.desktop?.kind ?? 'none';
  }

  authorization(appId: string): AuthorizationView {
    const stored = this.#authorizations[appId];
    return {
      appId,
      status: stored === 'granted' || stored === 'denied' ? stored : 'notDetermined',
      requested: stored === 'requested',
    };
  }

  /**
   * The app asks to post notifications. The answer is the person's, given once (in the dashboard or with
   * `bgtasks notifications allow|deny`); until then it is `notDetermined` and the request is shown.
   */
  async requestAuthorization(appId: string): Promise<NotificationAuthorization> {
    const current = this.authorization(appId);
    if (current.status !== 'notDetermined' || current.requested) return current.status;
    await this.#setStored(appId, 'requested', 'authorizationRequested');
    this.#deps.log.info(
      `${appId} asks to post notifications: allow it in the dashboard or with ` +
        `\`bgtasks notifications allow ${appId}\``,
      { appId },
    );
    return 'notDetermined';
  }

  /** The person's answer. @throws DaemonError `unknownApp`. */
  async setAuthorization(appId: string, granted: boolean): Promise<AuthorizationView> {
    if (!this.#deps.installed(appId))
      throw new DaemonError('unknownApp', `no app ${appId} is installed (see \`bgtasks apps\`)`, 'appId');
    await this.#setStored(appId, granted ? 'granted' : 'denied', granted ? 'authorized' : 'denied');
    return this.authorization(appId);
  }

  /**
   * Posts a notification for the app: kept, shown in the dashboard and on the desktop.
   * @throws DaemonError `notificationsNotAllowed` unless the person allowed the app's notifications.
   */
  async post(appId: string, input: NotificationInput): Promise<{ notificationId: string; desktop: string }> {
    const standing = this.authorization(appId);
    if (standing.status !== 'granted') {
      const why =
        standing.status === 'denied'
          ? 'the person denied them'
          : standing.requested
            ? 'the person has not answered yet'
            : 'the app has not asked (notifications.requestAuthorization())';
      throw new DaemonError(
        'notificationsNotAllowed',
        `${appId} may not post notifications: ${why}; the person allows them in the ` +
          `dashboard or with \`bgtasks notifications allow ${appId}\``,
      );
    }
    const now = this.#deps.clock.now();
    const record: NotificationRecord = {
      notificationId: this.#deps.newId(),
      appId,
      postedAt: now,
      title: input.title,
      body: input.body,
      threadId: input.threadId,
      actions: input.actions,
      state: 'posted',
      actionId: null,
      actedAt: null,
      handedAt: null,
      desktop: null,
    };
    await this.#deps.writer.write({
      insertNotifications: [record],
      events: [this.#event(appId, 'posted', { notificationId: record.notificationId, title: record.title })],
    });
    this.#showOnDesktop(record);
    return { notificationId: record.notificationId, desktop: this.desktopKind };
  }

  /**
   * The person chose an action (`default` is a click on the notification itself): it is kept, and handed
   * to the app, which is launched for it when no process of it handles actions.
   * @throws DaemonError `unknownNotification`, `unknownAction`, `alreadyAnswered`.
   */
  async act(notificationId: string, actionId: string): Promise<NotificationRecord> {
    const record = await this.#deps.store.getNotification(notificationId);
    if (!record) throw new DaemonError('unknownNotification', `no notification ${notificationId}`, 'notificationId');
    if (actionId !== 'default' && !record.actions.some((action) => action.id === actionId)) {
      throw new DaemonError(
        'unknownAction',
        `notification ${notificationId} has no action "${actionId}" (it has ` +
          `${record.actions.map((action) => action.id).join(', ') || 'none'})`,
        'actionId',
      );
    }
    if (record.state !== 'posted')
      throw new DaemonError(
        'alreadyAnswered',
        `notification ${notificationId} was already ${record.state}`,
        'notificationId',
      );
    const now = this.#deps.clock.now();
    const acted: NotificationRecord = { ...record, state: 'actioned', actionId, actedAt: now };
    await this.#deps.writer.write({
      updateNotifications: [{ notificationId, state: 'actioned', actionId, actedAt: now }],
      events: [this.#event(record.appId, 'actionChosen', { notificationId, actionId })],
    });
    if (!(await this.handPending(record.appId))) {
      this.#deps.log.info(`launching ${record.appId} for the action "${actionId}" the person chose`, {
        appId: record.appId,
        notificationId,
      });
      this.#deps.launchForAction(record.appId);
    }
    return acted;
  }

  /** The person dismissed it. @throws DaemonError `unknownNotification`. */
  async dismiss(notificationId: string): Promise<void> {
    const record = await this.#deps.store.getNotification(notificationId);
    if (!record) throw new DaemonError('unknownNotification', `no notification ${notificationId}`, 'notificationId');
    if (record.state !== 'posted') return;
    await this.#deps.writer.write({ updateNotifications: [{ notificationId, state: 'dismissed' }] });
  }

  /**
   * Hands the app's chosen actions that its handler has not acknowledged (and that no live process of it
   * holds now); false when no process of it takes them. An action is kept as handed only when the app's
   * `onAction` handler is done with it, so a process that dies first gets it again at its next start.
   */
  async handPending(appId: string): Promise<boolean> {
    const waiting = (await this.#deps.store.listNotifications({ appId, actionUnhanded: true, limit: 100 }))
      .reverse()
      .filter((record) => {
        const held = this.#inHand.get(record.notificationId);
        return !held || !this.#deps.connected(held.appId, held.process);
      });
    if (waiting.length === 0) return true;
    const actions: NotificationActionDelivery[] = waiting.map((record) => ({
      notificationId: record.notificationId,
      actionId: record.actionId ?? 'default',
      title: record.title,
      threadId: record.threadId,
      at: record.actedAt ?? record.postedAt,
    }));
    const process = this.#deps.hand(appId, actions);
    if (!process) return false;
    for (const record of waiting) this.#inHand.set(record.notificationId, { appId, process });
    return true;
  }

  /**
   * The app's `onAction` handler is done with these actions: they are kept as handed (ids of other apps are ignored).
   */
  async acknowledge(appId: string, notificationIds: readonly string[]): Promise<void> {
    const mine = notificationIds.filter((id) => this.#inHand.get(id)?.appId === appId);
    for (const id of mine) this.#inHand.delete(id);
    if (mine.length === 0) return;
    const now = this.#deps.clock.now();
    await this.#deps.writer.write({
      updateNotifications: mine.map((notificationId) => ({ notificationId, handedAt: now })),
    });
  }

  list(filter: { appId?: string; limit?: number } = {}): Promise<NotificationRecord[]> {
    return this.#deps.store.listNotifications({
      ...(filter.appId ? { appId: filter.appId } : {}),
      limit: filter.limit ?? 50,
    });
  }

  /** Apps that asked and wait for the person's answer. */
  requests(): AuthorizationView[] {
    return Object.keys(this.#authorizations)
      .map((appId) => this.authorization(appId))
      .filter((view) => view.requested);
  }

  /** An uninstalled app's answer goes with it. */
  async forget(appId: string): Promise<void> {
    if (!(appId in this.#authorizations)) return;
    const next = { ...this.#authorizations };
    delete next[appId];
    await this.#deps.writer.write({ settings: { [AUTHORIZATION_SETTING]: next } });
    this.#authorizations = next;
  }

  async #setStored(appId: string, value: StoredAuthorization, reason: string): Promise<void> {
    const next = { ...this.#authorizations, [appId]: value };
    await this.#deps.writer.write({
      settings: { [AUTHORIZATION_SETTING]: next },
      events: [this.#event(appId, reason, null)],
    });
    this.#authorizations = next;
  }

  #showOnDesktop(record: NotificationRecord): void {
    const desktop = this.#deps.desktop;
    if (!desktop) return;
    void desktop
      .post({
        key: record.notificationId,
        appName: record.appId,
        title: record.title,
        body: record.body,
        actions: record.actions,
      })
      .then((result) =>
        this.#deps.writer.write({
          updateNotifications: [
            {
              notificationId: record.notificationId,
              desktop: result.shown ? desktop.kind : `not shown: ${result.detail}`,
            },
          ],
        }),
      )
      .catch((error: unknown) =>
        this.#deps.log.warn(`desktop notification failed: ${error instanceof Error ? error.message : String(error)}`, {
          appId: record.appId,
        }),
      );
  }

  #event(appId: string, reason: string, detail: Record<string, unknown> | null): HistoryEventInput {
    return { at: this.#deps.clock.now(), appId, identifier: null, taskId: null, type: 'notification', reason, detail };
  }

  dispose(): void {
    for (const listener of this.#listeners.splice(0)) listener.dispose();
    this.#deps.desktop?.dispose();
  }
}

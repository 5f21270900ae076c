import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Client } from '@temporalio/client';
import { Hono, type Context } from 'hono';
import { IntegrationBusyError, runningWorkflowsOf } from '../client';
import { ConfigError, type Config } from '../config';
import { listDeadLetters, runningRunKeys } from '../db/state';
import { ActionRefusedError, type Form } from './actions/action-error';
import { dispatchAction } from './actions/dispatch';
import { dispatchInstanceAction } from './actions/instance-actions';
import { InstanceError } from '../instances/errors';
import { loadIntegrationDetail } from './data/integration-detail';
import { lagLimitSeconds, lagSecondsOf, loadOverview, stateOf } from './data/overview';
import { cursorZoneOf } from '../cursor/lag-time';
import { resolveForAction, resolveTarget, type Target } from './data/resolve-target';
import { StateDbs } from './data/state-dbs';
import { h, maskSecrets, type Safe } from './html';
import { deadLettersPage } from './pages/dead-letters-page';
import { integrationPage } from './pages/integration-page';
import { layout, stateBadge, type PageContext } from './pages/layout';
import { overviewPage, parseOverviewQuery } from './pages/overview-page';
import { progressRoute } from './progress-route';
import { isLoopback, loopbackHostOnly, newCsrfToken, requireCsrf, requireToken, securityHeaders, UiTokenRequiredError, WeakUiTokenError } from './security';
import { staticFiles } from './static-files';
import { retryAllDeadLetters, retryOneDeadLetter } from './actions/dead-letter-actions';

export interface UiOptions {
  config: Config;
  /** Where `${…}` references of sink URLs are resolved (the state databases); the page never shows them. */
  env?: NodeJS.ProcessEnv;
  /** Without one the pages show the databases' view and refuse actions. */
  temporal?: Client;
  taskQueue?: string;
  namespace?: string;
  temporalUiUrl?: string;
  /** Required when host is not a loopback address (TIDEMARK_UI_TOKEN). */
  token?: string;
  host?: string;
  port?: number;
  refreshMs?: number;
}

export interface UiApp {
  app: Hono;
  dbs: StateDbs;
  csrf: string;
  close(): Promise<void>;
}

const DEAD_LETTER_LIMIT = 200;

/** Validates the binding before anything listens: a non-local address needs a token, and a real one. */
export function checkBinding(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < 16) throw new WeakUiTokenError(token.length);
  if (!isLoopback(host) && !token) throw new UiTokenRequiredError(host);
}

/** The page as a Hono app (in-process requests for tests and the benchmark); createUiServer listens. */
export function createUiApp(opts: UiOptions): UiApp {
  const env = opts.env ?? process.env;
  const host = opts.host ?? '127.0.0.1';
  checkBinding(host, opts.token);
  const dbs = new StateDbs(env);
  const csrf = newCsrfToken();
  const ctx: PageContext = {
    csrf,
    refreshMs: opts.refreshMs ?? 2_000,
    temporalUiUrl: (opts.temporalUiUrl ?? env.TEMPORAL_UI ?? 'http://localhost:8233').replace(/\/+$/, ''),
    namespace: opts.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
  };
  const taskQueue = opts.taskQueue ?? env.TIDEMARK_TASK_QUEUE ?? 'tidemark';
  const files = staticFiles();
  const config = opts.config;
  const app = new Hono();

  // An unexpected failure (a database gone, Temporal down) says what happened, secrets masked, and is logged.
  app.onError((err, c) => {
    console.error(`tidemark ui: ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
    return c.text(`tidemark ui: ${maskSecrets(err.message)}\n`, 500);
  });
  app.use('*', securityHeaders);
  app.use('*', loopbackHostOnly(!opts.token && isLoopback(host)));
  app.use('*', requireToken(opts.token));
  app.use('*', requireCsrf(csrf));

  const html = (c: Context, body: Safe, status: 200 | 400 | 404 | 409 | 415 | 500 | 503 = 200) => c.html(body.html, status);
  // An id of the config, or an instance `<template>/<id>` (its "/" URL-encoded as %2F) read from its state database.
  const target = (c: Context): Promise<Target | undefined> => resolveTarget(config, c.req.param('id') ?? '', dbs);
  const notFound = (c: Context) =>
    html(c, layout('not found', ctx, h`<h1>unknown integration or instance</h1><p>"${c.req.param('id')}" is neither in the config (${config.integrations.length} integrations) nor an instance of one of its ${config.templates?.length ?? 0} templates: <a href="/">see them all</a>.</p>`), 404);

  app.get('/static/:name', (c) => {
    const f = files.get(c.req.param('name'));
    if (!f) return c.text('not found', 404);
    c.header('Content-Type', f.type);
    return c.body(f.body);
  });

  app.get('/', async (c) => {
    const overview = await loadOverview(config, dbs, opts.temporal);
    return html(c, overviewPage(overview.rows, parseOverviewQuery(c.req.query()), ctx, overview.temporalError));
  });

  app.get('/i/:id', async (c) => {
    let t: Target | undefined;
    try {
      t = await target(c);
    } catch (err) {
      // An instance whose row no longer fits its template (a parameter added since): say so, not a 500.
      if (!(err instanceof InstanceError || err instanceof ConfigError)) throw err;
      return html(c, layout('instance', ctx, h`<h1>${c.req.param('id')} ${stateBadge('unavailable')}</h1><div class="notice">${maskSecrets(err.message)}</div><p><a href="/">back to the overview</a></p>`), 409);
    }
    if (!t) return notFound(c);
    const it = t.it;
    const detail = await loadIntegrationDetail(it, dbs, opts.temporal);
    // Runs the state database has as running name workflows started under an id of the operator's choosing too.
    const runKeys = detail.runs.filter((r) => r.status === 'running').map((r) => r.run_id);
    const running = opts.temporal ? await runningWorkflowsOf(opts.temporal, it.id, runKeys).catch(() => []) : [];
    const last = detail.runs[0];
    const isRunning = opts.temporal ? running.length > 0 : last?.status === 'running';
    const status = t.instance?.row.status;
    // The overview's rule (overview.ts stateOf): the two never call one integration differently.
    const sync = detail.checkpoints.find((cp) => cp.slot === 'sync');
    const state = stateOf({
      problem: detail.problem,
      instanceStatus: status,
      running: isRunning,
      lastRunStatus: last?.status,
      schedulePaused: detail.schedule?.paused,
      lagSeconds: lagSecondsOf(sync ? JSON.stringify(sync.cursor) : null, Date.now(), sync?.caughtUp, cursorZoneOf(it.source)),
      lagLimitSeconds: lagLimitSeconds(it),
    });
    return html(c, integrationPage(it, state, detail, isRunning, ctx, t.instance));
  });

  app.get('/i/:id/progress', async (c) => {
    const it = (await target(c))?.it;
    if (!it) return c.text('unknown integration or instance', 404);
    const r = await progressRoute(it.id, opts.temporal, () => dbs.use(dbs.urlOf(it), (db) => runningRunKeys(db, it.id), 1));
    // 286: htmx stops polling (not a status Hono's types list).
    return new Response(r.body.html, { status: r.done ? 286 : 200, headers: { 'Content-Type': 'text/html; charset=UTF-8' } });
  });

  app.get('/i/:id/dead-letters', async (c) => {
    const it = (await target(c))?.it;
    if (!it) return notFound(c);
    const all = c.req.query('all') === '1';
    const letters = await dbs.use(dbs.urlOf(it), (db) => listDeadLetters(db, it.id, { pendingOnly: !all, limit: DEAD_LETTER_LIMIT }), 1);
    return html(c, deadLettersPage(it.id, letters, all, ctx, DEAD_LETTER_LIMIT));
  });

  const respond = (c: Context, message: string, ok: boolean, status: 200 | 400 | 404 | 409 | 415 | 500 | 503) => {
    const fragment = h`<div class="result${ok ? '' : ' error'}" role="status">${maskSecrets(message)}</div>`;
    if (c.req.header('hx-request')) return c.html(fragment.html, status);
    return html(c, layout('action', ctx, h`${fragment}<p><a href="${c.req.header('referer') && isSameOrigin(c) ? c.req.header('referer') : '/'}">back</a></p>`), status);
  };
  const failure = (c: Context, err: unknown) => {
    if (err instanceof ActionRefusedError) return respond(c, err.message, false, err.status);
    if (err instanceof IntegrationBusyError) return respond(c, err.message, false, 409);
    if (err instanceof InstanceError) return respond(c, err.message, false, 400);
    return respond(c, `failed: ${(err as Error).message}`, false, 500);
  };

  const actionTarget = (c: Context) => resolveForAction(config, c.req.param('id') ?? '', dbs);

  app.post('/i/:id/dead-letters/retry', async (c) => {
    try {
      const t = await actionTarget(c);
      if (!t) return notFound(c);
      return respond(c, await retryAllDeadLetters(t.it, t.env), true, 200);
    } catch (err) {
      return failure(c, err);
    }
  });

  app.post('/i/:id/dead-letters/:letter/retry', async (c) => {
    const letter = c.req.param('letter');
    if (!/^\d{1,18}$/.test(letter)) return notFound(c);
    try {
      const t = await actionTarget(c);
      if (!t) return notFound(c);
      return respond(c, await retryOneDeadLetter(t.it, letter, t.env), true, 200);
    } catch (err) {
      return failure(c, err);
    }
  });

  app.post('/i/:id/actions/:action', async (c) => {
    const t = await target(c);
    if (!t) return notFound(c);
    const it = t.it;
    const deps = { temporal: opts.temporal, taskQueue, env };
    try {
      const form = await actionForm(c, it.id);
      const done = t.instance
        ? await dispatchInstanceAction(c.req.param('action'), config, it.id, t.instance.template.id, t.instance.row.instanceId, form, deps)
        : await dispatchAction(c.req.param('action'), it, form, deps);
      return respond(c, `${it.id}: ${done}`, true, 200);
    } catch (err) {
      return failure(c, err);
    }
  });

  return { app, dbs, csrf, close: () => dbs.close() };
}

/** The fields each action reads (and the CSRF token): any other is a mistake to name, not to ignore. */
const ACTION_FIELDS: Record<string, readonly string[]> = { sync: [], backfill: ['from', 'shards', 'rate', 'batchSize'], resume: [], cancel: [], tune: ['rate', 'batchSize'], pause: ['note'], unpause: [], rewind: ['cursor'] };

/** An action's form: form-encoded only (a JSON body would read as a form without fields), no unknown fields. */
async function actionForm(c: Context, id: string): Promise<Form> {
  const action = c.req.param('action') ?? 'action';
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/x-www-form-urlencoded' && type !== 'multipart/form-data') {
    throw new ActionRefusedError(action, id, `send the form as application/x-www-form-urlencoded or multipart/form-data, not ${type || 'no Content-Type'}`, 415);
  }
  const body = (await c.req.parseBody()) as Record<string, unknown>;
  const takes = ACTION_FIELDS[action] ?? [];
  // `action`: the clicked submit button's name, which a browser (and htmx) sends with the form.
  const unknown = Object.keys(body).filter((k) => k !== '_csrf' && k !== 'action' && !takes.includes(k));
  if (unknown.length) throw new ActionRefusedError(action, id, `${action} takes ${takes.length ? takes.join(', ') : 'no fields'}, not ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));
}

function isSameOrigin(c: Context): boolean {
  try {
    return new URL(c.req.header('referer') ?? '').host === c.req.header('host');
  } catch {
    return false;
  }
}

export interface RunningUi {
  url: string;
  csrf: string;
  app: UiApp;
  close(): Promise<void>;
}

/** Listens on host:port (127.0.0.1 and a free port by default). */
export async function createUiServer(opts: UiOptions): Promise<RunningUi> {
  const ui = createUiApp(opts);
  const host = opts.host ?? '127.0.0.1';
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: ui.app.fetch, hostname: host, port: opts.port ?? 0 }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    csrf: ui.csrf,
    app: ui,
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await ui.close();
    },
  };
}

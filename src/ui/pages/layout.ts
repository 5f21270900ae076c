import { h, type Safe } from '../html';

export interface PageContext {
  csrf: string;
  /** Every how many ms running progress refreshes. */
  refreshMs: number;
  temporalUiUrl: string;
  namespace: string;
}

export const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
header a{color:#cfe0ff;text-decoration:none}
main{padding:12px 16px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{padding:4px 8px;border-bottom:1px solid #e3e6eb;text-align:left;vertical-align:top}
th a{color:inherit}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.state{display:inline-block;padding:1px 6px;border-radius:8px;font-size:12px;font-weight:600}
.state-failing,.state-unavailable,.state-needs_reauth{background:#fde2e1;color:#a31b12}
.state-running{background:#dbeafe;color:#1e4fa8}
.state-lagging{background:#fff1c2;color:#7a5200}
.state-paused{background:#eceff3;color:#555}
.state-ok{background:#dcf5e3;color:#17692f}
.state-new{background:#eceff3;color:#333}
tr.failing td:first-child,tr.needs_reauth td:first-child{border-left:4px solid #d93025}
.bar{position:relative;width:180px;height:14px;background:#e3e6eb;border-radius:7px;overflow:hidden;display:inline-block;vertical-align:middle}
.bar>span{position:absolute;left:0;top:0;bottom:0;background:#3b82f6}
.bar.unknown>span{width:100%;opacity:.35}
.muted{color:#6b7280}
.notice{background:#fff1c2;padding:6px 10px;margin:8px 0}
.result{margin:8px 0;padding:6px 10px;background:#dcf5e3}
.result.error{background:#fde2e1}
form.inline{display:inline}
fieldset{border:1px solid #e3e6eb;background:#fff;margin:0 0 8px}
pre{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #e3e6eb;padding:6px;margin:4px 0}
section{margin-bottom:18px}
nav.pages a,nav.pages span{margin-right:8px}
`;

export function layout(title: string, ctx: PageContext, body: Safe, extraHead?: Safe): Safe {
  return h`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title} · tidemark</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"[45]..","swap":true,"error":true}]}'>
<link rel="stylesheet" href="/static/ui.css">
<script src="/static/htmx.min.js" defer></script>
${extraHead}
</head><body hx-headers='${JSON.stringify({ 'X-CSRF-Token': ctx.csrf })}'>
<header><strong>tidemark</strong><a href="/">integrations</a><a href="${ctx.temporalUiUrl}" rel="noreferrer">Temporal UI</a></header>
<main>${body}</main>
</body></html>`;
}

/** The hidden CSRF field of every action form (htmx also sends it as a header). */
export function csrfField(ctx: PageContext): Safe {
  return h`<input type="hidden" name="_csrf" value="${ctx.csrf}">`;
}

export function stateBadge(state: string): Safe {
  return h`<span class="state state-${state}" data-state="${state}">${state}</span>`;
}

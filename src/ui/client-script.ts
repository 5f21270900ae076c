/**
 * The one script of the pages besides htmx and uPlot, served as /static/ui.js (no inline scripts:
 * the Content-Security-Policy allows scripts from this server only). Draws the run history chart.
 */
export const CLIENT_JS = `
(function () {
  function draw() {
    var el = document.getElementById('run-chart');
    var data = document.getElementById('run-chart-data');
    if (!el || !data || typeof uPlot === 'undefined') return;
    var d = JSON.parse(data.textContent || '[[],[],[],[]]');
    el.innerHTML = '';
    if (!d[0].length) { el.textContent = 'no runs yet'; return; }
    var width = Math.min(1100, Math.max(360, el.clientWidth || 900));
    new uPlot({
      width: width, height: 220,
      scales: { x: { time: true }, rows: {}, secs: {} },
      series: [
        {},
        { label: 'rows', scale: 'rows', stroke: '#3b82f6', width: 2, points: { show: true } },
        { label: 'duration (s)', scale: 'secs', stroke: '#f59e0b', width: 1, points: { show: true } },
        { label: 'rows/s', scale: 'rows', stroke: '#10b981', width: 1, dash: [4, 4], points: { show: true } }
      ],
      axes: [{}, { scale: 'rows', label: 'rows, rows/s' }, { scale: 'secs', side: 1, label: 'seconds', grid: { show: false } }]
    }, d, el);
    el.setAttribute('data-drawn', String(d[0].length));
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw); else draw();
})();
`;

/** The report page's stylesheet (inline: the file must open without any network). */
export const PAGE_STYLE = `
:root { --ink: #1d2433; --muted: #5b6577; --line: #d9dee7; --bg: #f5f7fa; --card: #fff; --accent: #1b6ca8; --bad: #c1121f; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
header { background: var(--card); border-bottom: 1px solid var(--line); padding: 18px 28px 12px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 10px; }
h2 small { font-weight: 500; color: var(--muted); text-transform: uppercase; font-size: 12px; letter-spacing: .06em; margin-left: 6px; }
.meta { color: var(--muted); margin: 0 0 6px; }
.note { margin: 4px 0; color: var(--ink); }
.sim-note { color: #6a4c93; }
nav { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0 6px; }
nav a { text-decoration: none; color: var(--accent); border: 1px solid var(--line); border-radius: 999px; padding: 3px 10px; }
nav a span { color: var(--muted); margin-left: 6px; font-size: 12px; }
.legend summary { cursor: pointer; color: var(--muted); }
.legend ul { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; padding: 0; margin: 8px 0; }
.legend li { display: flex; align-items: center; gap: 5px; }
.legend p { color: var(--muted); margin: 4px 0 8px; }
.sw { width: 12px; height: 12px; flex: none; }
main { padding: 18px 28px 40px; max-width: 1280px; }
.target { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; margin-bottom: 18px; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 0 0 10px; }
.facts div { min-width: 90px; }
.facts dt { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.facts dd { margin: 0; font-size: 18px; font-weight: 600; }
.share { display: flex; align-items: center; gap: 10px; margin: 4px 0 10px; color: var(--muted); }
.share svg { width: 200px; height: 14px; flex: none; }
.share .track { fill: #e9edf3; } .share .fill { fill: var(--accent); } .share.over .fill { fill: var(--bad); }
.share .breaker { stroke: var(--ink); stroke-width: 2; }
.share.over span { color: var(--bad); font-weight: 600; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 10px; }
.chip { display: inline-flex; align-items: center; gap: 5px; border: 1px solid var(--line); border-radius: 6px; padding: 1px 8px; font-size: 12.5px; background: #fafbfc; }
.sim { margin: 8px 0 14px; } .sim figcaption { color: var(--muted); font-size: 12.5px; margin-bottom: 2px; }
.sim svg { width: 100%; max-width: 600px; height: auto; }
.sim text, .tl text { font-size: 10px; fill: var(--muted); }
.sim .axis, .tl .axis { stroke: var(--line); }
.sim .series { fill: none; stroke: #6a4c93; stroke-width: 2; }
.toolbar { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; padding: 8px 0; border-top: 1px solid var(--line); color: var(--muted); }
.toolbar select, .toolbar input { font: inherit; padding: 2px 6px; border: 1px solid var(--line); border-radius: 5px; margin-left: 4px; }
.toolbar input { width: 260px; }
details.res { border-top: 1px solid #eef1f5; }
details.res > summary { list-style: none; cursor: pointer; display: grid; grid-template-columns: 16px minmax(180px, 1.3fr) 2fr; gap: 10px; align-items: center; padding: 6px 2px; }
details.res > summary::-webkit-details-marker { display: none; }
details.res > summary::before { content: "▸"; color: var(--muted); }
details.res[open] > summary::before { content: "▾"; }
details.res > summary:hover { background: #f7f9fc; }
.rlabel { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.rkey { display: block; font-weight: 400; color: var(--muted); font-size: 11.5px; overflow: hidden; text-overflow: ellipsis; }
.rsum { color: var(--muted); font-size: 12.5px; }
.rsum b { color: var(--ink); } .rsum .del { color: var(--bad); }
.body { padding: 4px 0 14px 26px; }
.tl { width: 100%; height: auto; display: block; }
.tl .lane { fill: #f7f9fc; } .tl .lane.goes { fill: #fdf3f3; }
.tl .lanename { font-size: 11px; fill: var(--muted); }
.tl .gap { fill: #e76f51; opacity: .14; }
.tl [data-mark] { cursor: pointer; pointer-events: bounding-box; }
.tl [data-mark]:focus { outline: none; stroke: var(--ink); stroke-width: 2.5; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 6px 18px; margin: 6px 0; font-size: 12.5px; }
.stats b { display: block; color: var(--muted); font-weight: 500; font-size: 11.5px; text-transform: uppercase; letter-spacing: .04em; }
.alt summary { cursor: pointer; color: var(--accent); margin: 6px 0; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eef1f5; vertical-align: top; }
th { color: var(--muted); font-weight: 500; }
td:first-child { white-space: nowrap; }
td.id { white-space: nowrap; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 11.5px; }
.more { margin: 10px 0 0; font: inherit; padding: 5px 14px; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; }
#tip { position: fixed; z-index: 10; max-width: 380px; background: #1d2433; color: #fff; padding: 8px 10px; border-radius: 6px; font-size: 12.5px; pointer-events: none; box-shadow: 0 4px 14px rgba(0,0,0,.25); white-space: pre-line; }
.spark { width: 240px; height: 36px; vertical-align: middle; } .spark polyline { fill: none; stroke: #6a4c93; stroke-width: 1.5; }
`;

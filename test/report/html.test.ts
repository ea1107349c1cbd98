import { describe, expect, it } from 'vitest';
import { escapeHtml, renderReportHtml, safeJson } from '../../lib/report/html.ts';
import { reportFromPlan } from '../../lib/report/model.ts';
import { HOSTILE_NAME, reportFleet, reportPlan } from './fixtures.ts';

async function hostileReport(): Promise<string> {
  const backups = reportFleet();
  return renderReportHtml(
    reportFromPlan({ plan: await reportPlan(backups), listings: new Map([['vaults <b>prod</b>', backups]]) }),
  );
}

describe('HTML report', () => {
  it('is one self-contained file: no URL to load, only its own script allowed', async () => {
    const html = await hostileReport();
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).toMatch(
      /Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-[A-Za-z0-9+/]+=*'"/,
    );
  });

  it('escapes a hostile backup name, resource name and target name everywhere', async () => {
    const html = await hostileReport();
    // Exactly the page's two script elements (data and code) open and close; nothing injected runs.
    expect(html.match(/<script\b/gi)).toHaveLength(2);
    expect(html.match(/<\/script/gi)).toHaveLength(2);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>prod</b>');
    expect(html).toContain('vaults &lt;b&gt;prod&lt;/b&gt;');
    expect(html).not.toContain('\u2028');
    // The data still carries the name exactly, for the page to show as text.
    const json = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html)?.[1] ?? '';
    const model = JSON.parse(json);
    const resource = model.targets[0].resources[0];
    expect(resource.name.map((name: string | null) => (name === null ? null : resource.np + name))).toContain(
      HOSTILE_NAME,
    );
  });

  it('escapes the five HTML specials and keeps JSON parseable inside a script element', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    const text = safeJson({ name: '</script><!-- & \u2028' });
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual({ name: '</script><!-- & \u2028' });
  });
});

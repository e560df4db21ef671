/**
 * The operations files stay true to the code: the alert rules and the Prometheus
 * config pass promtool (syntax and the alert unit tests), every metric an alert or
 * the Grafana dashboard queries is one the gateway exports, and the collector and
 * compose files wire OTLP in to Jaeger out.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { gatewayMetrics } from '../../src/observability/gateway-metrics.ts';
import { registry } from '../../src/observability/metrics.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');

function promtool(...args: string[]) {
  const run = spawnSync('promtool', args, { cwd: `${root}ops/prometheus`, encoding: 'utf8' });
  expect(run.error, 'promtool is needed (Debian package prometheus)').toBeUndefined();
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Every sample name the gateway can expose: families, plus histogram series. */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  // A gateway's own gauges are collected from it at scrape time; nothing is read here.
  const gauges = gatewayMetrics({} as Parameters<typeof gatewayMetrics>[0]).registry;
  for (const metric of Registry.merge([registry, gauges]).getMetricsAsArray()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

const METRIC = /\b(?:tether|nodejs|process)_[a-z0-9_]+\b/g;

describe('ops/prometheus', () => {
  it('alerts.yml passes promtool check rules', () => {
    const { status, output } = promtool('check', 'rules', 'alerts.yml');
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  it('the alerts fire as their unit tests expect (promtool test rules)', () => {
    const { status, output } = promtool('test', 'rules', 'alerts.test.yml');
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  it('every alert has a promtool case where it fires and one where it does not', () => {
    const alerts = (
      parse(read('ops/prometheus/alerts.yml')).groups as { rules: { alert: string }[] }[]
    ).flatMap((group) => group.rules.map((rule) => rule.alert));
    const cases = (
      parse(read('ops/prometheus/alerts.test.yml')).tests as {
        alert_rule_test: { alertname: string; exp_alerts: unknown[] }[];
      }[]
    ).flatMap((test) => test.alert_rule_test);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} fires somewhere`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} stays quiet somewhere`,
      ).toBe(true);
    }
  });

  it('prometheus.yml passes promtool check config', () => {
    expect(promtool('check', 'config', 'prometheus.yml').status).toBe(0);
  });

  it('every alert queries metrics the gateway exports', async () => {
    const names = await exportedNames();
    const groups = parse(read('ops/prometheus/alerts.yml')).groups as {
      rules: { alert: string; expr: string }[];
    }[];
    const rules = groups.flatMap((group) => group.rules);
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const rule of rules)
      for (const name of rule.expr.match(METRIC) ?? [])
        expect(names.has(name), `${rule.alert}: ${name}`).toBe(true);
    expect(rules.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'TetherHighErrorRate',
        'TetherAdmissionQueueGrowing',
        'TetherShedding',
        'TetherEventLoopLag',
        'TetherRedisDown',
      ]),
    );
  });
});

describe('ops/grafana/tether-dashboard.json', () => {
  const dashboard = JSON.parse(read('ops/grafana/tether-dashboard.json'));
  const panels = (
    dashboard.panels as { id: number; type: string; title: string; targets?: { expr: string }[] }[]
  ).filter((panel) => panel.type !== 'row');

  it('is an importable dashboard: uid, unique panel ids, a query per panel', () => {
    expect(dashboard.uid).toBe('tether-gateway');
    const ids = dashboard.panels.map((panel: { id: number }) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
  });

  it('queries only metrics the gateway exports', async () => {
    const names = await exportedNames();
    for (const panel of panels)
      for (const target of panel.targets ?? [])
        for (const name of target.expr.match(METRIC) ?? [])
          expect(names.has(name), `${panel.title}: ${name}`).toBe(true);
  });
});

describe('docs/observability.md', () => {
  it('documents every metric the gateway exports', async () => {
    const doc = read('docs/observability.md');
    const families = (await registry.getMetricsAsJSON()).map((metric) => metric.name);
    for (const name of families.filter((n) => n.startsWith('tether_')))
      expect(doc, name).toContain(`\`${name}\``);
  });
});

describe('otel-collector.yaml and docker-compose.yml', () => {
  it('the collector takes OTLP on 4317 and 4318 and sends traces to Jaeger over OTLP, and to debug', () => {
    const collector = parse(read('otel-collector.yaml'));
    expect(collector.receivers.otlp.protocols.grpc.endpoint).toBe('0.0.0.0:4317');
    expect(collector.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    const traces = collector.service.pipelines.traces;
    expect(traces.processors).toContain('batch');
    expect(traces.exporters).toEqual(expect.arrayContaining(['otlp/jaeger', 'debug']));
    expect(collector.exporters['otlp/jaeger'].endpoint).toBe('jaeger:4317');
    for (const kind of ['receivers', 'processors', 'exporters'] as const)
      for (const name of traces[kind]) expect(collector[kind], `${kind}: ${name}`).toHaveProperty([name]);
  });

  it('the Dockerfile builds on Node 24 / Debian 13, installs without dev deps or scripts, runs as non-root with a health check', () => {
    const dockerfile = read('Dockerfile');
    const stages = dockerfile.match(/^FROM .*$/gm) ?? [];
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage).toMatch(/^FROM node:24-trixie-slim\b/);
    expect(dockerfile).toMatch(/npm ci --omit=dev .*--ignore-scripts/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/livez/m);
    // .ci/prod-smoke.sh repeats these steps without a container runtime: the same install.
    expect(read('.ci/prod-smoke.sh')).toContain('npm ci --omit=dev --omit=optional --ignore-scripts');
    expect(dockerfile).toContain('npm ci --omit=dev --omit=optional --ignore-scripts');
  });

  it('compose runs the gateway from the Dockerfile on Redis with AOF, tracing to the collector', () => {
    const compose = parse(read('docker-compose.yml'));
    const gateway = compose.services.gateway;
    expect(gateway.build).toBe('.');
    expect(existsSync(`${root}Dockerfile`)).toBe(true);
    expect(gateway.environment).toMatchObject({
      NODE_ENV: 'production',
      REDIS_URL: 'redis://redis:6379',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
    });
    expect(compose.services.redis.command.join(' ')).toContain('--appendonly yes');
    expect(compose.services.redis.volumes).toContain('redis-data:/data');
  });

  it('compose runs the collector, Jaeger (UI on 16686) and Redis on 6379, with files that exist', () => {
    const compose = parse(read('docker-compose.yml'));
    expect(compose.services['otel-collector'].ports).toEqual(
      expect.arrayContaining(['4317:4317', '4318:4318']),
    );
    expect(compose.services.jaeger.ports).toContain('16686:16686');
    // Where npm start and npm run worker both look for Redis when REDIS_URL is unset.
    expect(compose.services.redis.ports).toContain('127.0.0.1:6379:6379');
    expect(read('src/actions/example-worker.ts')).toContain("'redis://127.0.0.1:6379'");
    for (const service of Object.values(compose.services) as { volumes?: string[] }[])
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] as string;
        if (!/^[./]/.test(source)) continue; // a named volume (redis-data), not a file
        expect(existsSync(`${root}${source.replace(/^\.\//, '')}`), source).toBe(true);
      }
  });
});

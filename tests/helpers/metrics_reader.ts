// OpenTelemetry's own SDK for TESTS ONLY: a MeterProvider with a reader the test collects from when
// it wants (MetricReader.collect(): the path every exporter takes, without a timer), and the data
// points of each instrument by name, so tests compare what an exporter would see with stats().
import { DataPointType, MeterProvider, MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import type { Meter } from "@opentelemetry/api";

class OnDemandReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export interface Point {
  attributes: Record<string, unknown>;
  value: number;
}

export interface Collected {
  unit: string;
  /** A sum that only grows (counters), or one that may go down (up-down counters); undefined: not a sum. */
  monotonic: boolean | undefined;
  points: Point[];
}

/** Instrument name → unit, type and data points, from one ResourceMetrics. */
export function byName(resourceMetrics: ResourceMetrics): Map<string, Collected> {
  const out = new Map<string, Collected>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const points = metric.dataPoints.map((point) => ({
        attributes: { ...point.attributes },
        value: point.value as number,
      }));
      const monotonic = metric.dataPointType === DataPointType.SUM ? metric.isMonotonic : undefined;
      out.set(metric.descriptor.name, { unit: metric.descriptor.unit, monotonic, points });
    }
  }
  return out;
}

export class TestMeter {
  readonly #reader = new OnDemandReader();
  readonly #provider = new MeterProvider({ readers: [this.#reader] });
  readonly meter: Meter = this.#provider.getMeter("pushwire-test");

  /** The provider itself (e.g. to install it as the global MeterProvider). */
  get provider(): MeterProvider {
    return this.#provider;
  }

  #scopes: string[] = [];

  async collect(): Promise<Map<string, Collected>> {
    const { resourceMetrics, errors } = await this.#reader.collect();
    if (errors.length > 0) throw new AggregateError(errors, "metric collection failed");
    this.#scopes = resourceMetrics.scopeMetrics.map((scope) => scope.scope.name);
    return byName(resourceMetrics);
  }

  /** The instrumentation scopes (meter names) of the last collection. */
  scopes(): string[] {
    return this.#scopes;
  }

  shutdown(): Promise<void> {
    return this.#provider.shutdown();
  }
}

/** The sum of an instrument's points (undefined when it reported none). */
export function total(collected: Map<string, Collected>, name: string): number | undefined {
  const points = collected.get(name)?.points ?? [];
  return points.length === 0 ? undefined : points.reduce((sum, point) => sum + point.value, 0);
}

/** The value of the point whose `key` attribute is `value` (undefined when none). */
export function pointWhere(collected: Map<string, Collected>, name: string, key: string, value: unknown): number | undefined {
  return collected.get(name)?.points.find((point) => point.attributes[key] === value)?.value;
}

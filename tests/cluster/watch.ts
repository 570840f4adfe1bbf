// Test helper: reads a subscription in the background, as a user's `for await` loop would, and keeps
// what it saw. Observed from the start: a subscription that ends with an error fails the test that
// watches it (check() or `done`), never the whole file as an unhandled rejection.
import type { Message } from "../../src/frame.ts";
import type { LifecycleEvent, Subscription } from "../../src/subscription.ts";

export interface Watched {
  /** Lifecycle events, in order. */
  readonly events: LifecycleEvent[];
  /** One label per message received, in order. */
  readonly got: string[];
  /** Ends when the subscription ends (after unsubscribe()); rejects with the error it ended with. */
  readonly done: Promise<void>;
  /** Throws the error the subscription ended with, if it did. */
  check(): void;
}

export function watch(subscription: Subscription, label: (message: Message) => string = (message) => message.text()): Watched {
  const events: LifecycleEvent[] = [];
  subscription.onEvent((event) => events.push(event));
  const got: string[] = [];
  let failure: unknown;
  const done = (async () => {
    for await (const message of subscription) got.push(label(message));
  })();
  done.catch((error) => (failure = error));
  return {
    events,
    got,
    done,
    check() {
      if (failure !== undefined) throw failure;
    },
  };
}

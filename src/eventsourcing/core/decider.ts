/**
 * A decider is the pure heart of an aggregate: it turns a command and the current state into
 * new events, and folds events into state. No I/O, no clock, no randomness: time and ids arrive
 * on the command, filled in by the handler from injected sources.
 */
export type Decider<Command, Event, State> = {
  initialState(): State;
  /** Returns the events the command produces; an empty list means "nothing to do" (idempotent). */
  decide(command: Command, state: State): readonly Event[];
  evolve(state: State, event: Event): State;
};

/** Folds a sequence of events into state, starting from the decider's initial state. */
export function fold<Command, Event, State>(
  decider: Decider<Command, Event, State>,
  events: Iterable<Event>,
): State {
  let state = decider.initialState();
  for (const event of events) state = decider.evolve(state, event);
  return state;
}

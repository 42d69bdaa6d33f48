// A complete small application of the framework, through its one entry point only: a library
// that lends books. Decider, command handler, projection, processor and specs, end to end.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import Type from 'typebox';
import {
  createCommandHandler,
  createEventRegistry,
  createInMemoryEventStore,
  createInMemoryReadStore,
  createProcessorRegistry,
  createProjectorProcessor,
  createReactor,
  type Decider,
  DomainError,
  deciderSpec,
  defineEvent,
  defineProjection,
  type EventOf,
  projectionSpec,
  readStoreSkipLog,
  streamName,
} from '../../src/eventsourcing/index.ts';

// Events: past tense, typed data, validated on every append and every read.
const BookLent = defineEvent({
  type: 'BookLent',
  schema: Type.Object({ bookId: Type.String(), reader: Type.String(), at: Type.String() }),
});
const BookReturned = defineEvent({
  type: 'BookReturned',
  schema: Type.Object({ bookId: Type.String(), at: Type.String() }),
});
const events = createEventRegistry([BookLent, BookReturned]);
type BookEvent = EventOf<typeof BookLent> | EventOf<typeof BookReturned>;

// Commands carry the time: the decider stays pure.
type BookCommand =
  | { type: 'Lend'; bookId: string; reader: string; at: string }
  | { type: 'Return'; bookId: string; at: string };
type BookState = { status: 'on_shelf' } | { status: 'lent'; reader: string };

const book: Decider<BookCommand, BookEvent, BookState> = {
  initialState: () => ({ status: 'on_shelf' }),
  decide(command, state) {
    switch (command.type) {
      case 'Lend':
        if (state.status === 'lent') throw new DomainError('book.lent', `lent to ${state.reader}`);
        return [
          { type: 'BookLent', data: { bookId: command.bookId, reader: command.reader, at: command.at } },
        ];
      case 'Return':
        if (state.status !== 'lent') return [];
        return [{ type: 'BookReturned', data: { bookId: command.bookId, at: command.at } }];
    }
  },
  evolve: (_state, event) =>
    event.type === 'BookLent' ? { status: 'lent', reader: event.data.reader } : { status: 'on_shelf' },
};

// A read model as a handler map: what it handles and creates is read off the map.
type LoanDocument = { id: string; reader: string };
const currentLoans = defineProjection<BookEvent, LoanDocument>({
  name: 'current_loans',
  version: 1,
  collection: 'current_loans',
  id: (event) => event.data.bookId,
  on: {
    BookLent: { create: ({ data }) => ({ id: data.bookId, reader: data.reader }) },
    BookReturned: { update: () => null },
  },
});

it('decides with given/when/then', () => {
  deciderSpec(book)
    .given([{ type: 'BookLent', data: { bookId: 'b1', reader: 'ann', at: 't0' } }])
    .when({ type: 'Lend', bookId: 'b1', reader: 'bob', at: 't1' })
    .thenThrows('book.lent');
});

it('projects with given/then, the same after a rebuild', () => {
  projectionSpec(currentLoans)
    .given([
      { type: 'BookLent', data: { bookId: 'b1', reader: 'ann', at: 't0' } },
      { type: 'BookLent', data: { bookId: 'b2', reader: 'bob', at: 't0' } },
      { type: 'BookReturned', data: { bookId: 'b1', at: 't1' } },
    ])
    .then([{ id: 'b2', reader: 'bob' }]);
});

it('runs commands through the handler and follows them with a processor into a read store', async () => {
  const eventStore = createInMemoryEventStore();
  const readStore = createInMemoryReadStore();
  const books = createCommandHandler({
    eventStore,
    decider: book,
    events,
    streamName: (id) => streamName('book', id),
  });
  const lent = await books.handle(
    'b1',
    { type: 'Lend', bookId: 'b1', reader: 'ann', at: 't0' },
    {
      idempotencyKey: 'loan-1',
      actor: 'desk',
    },
  );
  assert.equal(lent.outcome, 'appended');
  // The same key again: the handler answers from the stream, nothing is appended twice.
  const again = await books.handle(
    'b1',
    { type: 'Lend', bookId: 'b1', reader: 'ann', at: 't0' },
    {
      idempotencyKey: 'loan-1',
      actor: 'desk',
    },
  );
  assert.equal(again.outcome, 'already_handled');

  // Processors follow the log, each with its own subscription, checkpoint and failure domain.
  const loans = createProjectorProcessor({
    name: 'current_loans',
    eventStore,
    readStore,
    projections: [currentLoans],
    filter: { streamPrefixes: ['book-'] },
    events,
  });
  // A reactor: a side effect per event from a persistent subscription, acknowledged after the
  // handler. The in-memory store has no persistent subscriptions, so this one is not started.
  const reminded: string[] = [];
  const reminders = createReactor({
    name: 'loan-reminders',
    eventStore,
    source: { all: true, filter: { eventTypePrefixes: ['BookLent'] } },
    events,
    skipLog: readStoreSkipLog(readStore),
    handler: async (event) => {
      reminded.push(event.id);
    },
  });
  const processors = createProcessorRegistry([loans, reminders]);
  await loans.start();
  try {
    assert.ok(lent.outcome === 'appended' && (await processors.waitFor(lent.position, 5_000)));
    assert.deepEqual(await readStore.get('current_loans', 'b1'), { id: 'b1', reader: 'ann' });
    // Operators address processors by name: status, retry, skip, rebuild.
    const status = processors.get('current_loans')?.status();
    assert.deepEqual([status?.kind, status?.state, status?.failures], ['projector', 'running', []]);
    await processors.get('current_loans')?.rebuild();
    assert.deepEqual(await readStore.get('current_loans', 'b1'), { id: 'b1', reader: 'ann' });
    // A reactor is not rebuilt (that would repeat its side effects); it says so.
    assert.equal(processors.get('loan-reminders')?.rebuildSupport.supported, false);
    await assert.rejects(processors.get('loan-reminders')!.rebuild(), /cannot be rebuilt/);
  } finally {
    await loans.stop();
  }
});

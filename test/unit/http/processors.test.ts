import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';
import { apiServer, fixtures } from './api-server.ts';

describe('processor routes', () => {
  it('list every processor and show one by name; an unknown name is 404 naming the known ones', async () => {
    const { app } = await apiServer();
    const list = await app.inject({ method: 'GET', url: '/api/v1/admin/processors' });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json(), { processors: [fixtures.processor] });
    const one = await app.inject({ method: 'GET', url: '/api/v1/admin/processors/cases' });
    assert.deepEqual([one.statusCode, one.json().name], [200, 'cases']);
    const unknown = await app.inject({ method: 'GET', url: '/api/v1/admin/processors/case' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'processor.not_found');
    assert.match(unknown.json().detail, /cases/);
  });

  it('retry and rebuild answer 202 with what they started; skip answers 200 with the event', async () => {
    const { app } = await apiServer();
    const retry = await app.inject({ method: 'POST', url: '/api/v1/admin/processors/cases/retry' });
    assert.deepEqual([retry.statusCode, retry.json()], [202, { processor: 'cases', events: [] }]);
    const rebuild = await app.inject({ method: 'POST', url: '/api/v1/admin/processors/cases/rebuild' });
    assert.deepEqual([rebuild.statusCode, rebuild.json()], [202, { rebuilding: 'cases' }]);
    const skip = await app.inject({
      method: 'POST',
      url: '/api/v1/admin/processors/cases/skip',
      payload: { event_id: 'e-1', reason: 'nothing to project' },
    });
    assert.deepEqual([skip.statusCode, skip.json()], [200, { processor: 'cases', skipped: 'e-1' }]);
  });

  it('a skip without a reason, or of an event the processor did not fail on, is refused', async () => {
    const { app } = await apiServer({
      operations: {
        async skipProcessorEvent() {
          throw new DomainError(
            'processor.not_failed_at_event',
            'Processor cases is not stopped at any event',
          );
        },
      },
    });
    const noReason = await app.inject({
      method: 'POST',
      url: '/api/v1/admin/processors/cases/skip',
      payload: { event_id: 'e-1' },
    });
    assert.equal(noReason.statusCode, 400);
    const notThere = await app.inject({
      method: 'POST',
      url: '/api/v1/admin/processors/cases/skip',
      payload: { event_id: 'e-1', reason: 'not stopped there' },
    });
    assert.deepEqual([notThere.statusCode, notThere.json().code], [409, 'processor.not_failed_at_event']);
  });

  it('a rebuild a processor cannot do is 409 with the reason', async () => {
    const { app } = await apiServer({
      operations: {
        rebuildProcessor: () => ({
          outcome: 'refused',
          code: 'processor.rebuild_not_supported',
          reason: 'a reactor causes side effects',
        }),
      },
    });
    const answer = await app.inject({ method: 'POST', url: '/api/v1/admin/processors/mailer/rebuild' });
    assert.deepEqual(
      [answer.statusCode, answer.json().code, answer.json().title],
      [409, 'processor.rebuild_not_supported', 'a reactor causes side effects'],
    );
  });

  it('a name longer than the limit is refused before any processor is asked', async () => {
    const { app } = await apiServer();
    const answer = await app.inject({ method: 'GET', url: `/api/v1/admin/processors/${'x'.repeat(129)}` });
    assert.equal(answer.statusCode, 400);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Script } from 'node:vm';

import { AGENT_GADGET_PATH } from '../../../src/api/agent-gadget.js';
import { buildTestHttpApi } from '../../support/http-api-harness.js';
import { FakeRepository } from '../../support/fake-repository.js';

void describe('the AgentInfo gadget XML', () => {
  void it('is served without sign-in as an OpenSocial module with its preferences and an ES5 script', async () => {
    const app = await buildTestHttpApi({ repository: new FakeRepository(), advertise: 'rec.example"&' });
    try {
      const response = await app.inject({ method: 'GET', url: AGENT_GADGET_PATH });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^application\/xml/);
      const xml = response.body;
      assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Module>/);
      assert.match(xml, /<Require feature="pubsub-2" \/>/);
      assert.match(
        xml,
        /<UserPref name="verbatimUrl" datatype="hidden" default_value="http:\/\/rec\.example&quot;&amp;:8440" \/>/,
      );
      for (const pref of ['username', 'password', 'keepAliveSeconds']) {
        assert.match(xml, new RegExp(`<UserPref name="${pref}"`));
      }
      const content = /<Content type="html"><!\[CDATA\[([\s\S]*)\]\]><\/Content>/.exec(xml)?.[1];
      assert.ok(content !== undefined);
      const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(content)?.[1] ?? '';
      assert.ok(script.includes('/ora/agentService/agent/'));
      // Plain ES5 for the desktop: no arrows, let/const, template strings or classes.
      assert.doesNotMatch(script, /=>|\blet\b|\bconst\b|`|\bclass\b/);
      assert.doesNotThrow(() => new Script(script), 'the script parses');
    } finally {
      await app.close();
    }
  });
});

import type { FastifyInstance } from 'fastify';

import { AGENT_KEEPALIVE_INTERVAL_MS } from '../model/agent.js';
import { AGENT_SERVICE } from './agent-routes.js';
import { httpBaseUrl, type MediaUrlOptions } from './session-json.js';

/**
 * The Finesse AgentInfo gadget (DESIGN.md §1.5), an OpenSocial gadget as the Finesse desktop loads
 * third-party gadgets. Its script uses the Finesse JavaScript library (finesse.js, which the
 * desktop serves to its gadgets) to follow the agent's state, and `gadgets.io.makeRequest` (the
 * container's server-side proxy: no CORS, and the proxy hands back `set-cookie`) to call Verbatim.
 * Preferences, set by the Finesse administrator as `up_<name>` parameters of the gadget URL in the
 * desktop layout: `username` and `password` (a Verbatim user with the `api` role), `verbatimUrl`
 * (default: this node as it advertises itself), `keepAliveSeconds` (default 180; KEEPALIVE and
 * retry period). The script is plain ES5, for every browser the desktop supports.
 */

export const AGENT_GADGET_PATH = '/ora/gadget_agentInfo/MSAgentInfoGadget.xml';

const GADGET_SCRIPT = String.raw`
(function () {
  'use strict';
  var AGENT = '${AGENT_SERVICE}/';
  var SIGN_IN = '/ora/authenticationService/authentication/signIn';
  var prefs = new gadgets.Prefs();
  var base = prefs.getString('verbatimUrl').replace(/\/+$/, '');
  var periodMs = (Number(prefs.getString('keepAliveSeconds')) || ${AGENT_KEEPALIVE_INTERVAL_MS / 1000}) * 1000;
  var user = null, agent = null, jsessionId = null, timer = null, signedIn = false, halted = false;
  // Bumped on each sign-in or sign-out: answers and timers of the previous one are ignored, so a
  // late START answer cannot schedule a KEEPALIVE after the STOP.
  var generation = 0;

  function show(text) {
    var status = document.getElementById('verbatim-agent-status');
    status.innerHTML = '';
    status.appendChild(document.createTextNode(text));
  }

  function post(path, params, done) {
    var headers = { 'Content-Type': 'application/json' };
    if (jsessionId) { headers.JSESSIONID = jsessionId; }
    var p = gadgets.io.RequestParameters, options = {};
    options[p.METHOD] = gadgets.io.MethodType.POST;
    options[p.CONTENT_TYPE] = gadgets.io.ContentType.JSON;
    options[p.HEADERS] = headers;
    options[p.POST_DATA] = JSON.stringify({ requestParameters: params });
    gadgets.io.makeRequest(base + path, function (response) {
      var data = response && response.data;
      var code = data && typeof data.responseCode === 'number' ? data.responseCode : 0;
      var cookies = (response && response.headers && response.headers['set-cookie']) || [];
      for (var i = 0; i < cookies.length; i++) {
        var match = /JSESSIONID=([^;]+)/.exec(cookies[i]);
        if (match) { jsessionId = match[1]; }
      }
      done(code, data);
    }, options);
  }

  function signIn(then) {
    jsessionId = null;
    post(SIGN_IN, { username: prefs.getString('username'), password: prefs.getString('password') },
      function (code) {
        if (code === 4020) {
          halt('Verbatim refused the gadget credentials (4020): ask your administrator to check the ' +
            'username and password preferences of the Verbatim Agent Info gadget.');
        } else { then(code === 2000 && jsessionId !== null); }
      });
  }

  function halt(text) {
    halted = true;
    clearTimeout(timer);
    show(text);
  }

  function schedule(action, gen) {
    clearTimeout(timer);
    timer = setTimeout(function () { send(action, true, gen); }, periodMs);
  }

  /** Sends START, KEEPALIVE or STOP, signing in first when needed (or once more on 4021). */
  function send(action, mayRetrySignIn, gen) {
    if (halted || gen !== generation) { return; }
    clearTimeout(timer);
    if (!jsessionId) {
      signIn(function (ok) {
        if (halted || gen !== generation) { return; }
        if (ok) { send(action, false, gen); } else { failed(action, 'sign-in failed', gen); }
      });
      return;
    }
    var api = action === 'START' ? 'startAgentSession' : action === 'STOP' ? 'stopAgentSession' : 'keepAliveAgentSession';
    post(AGENT + api, agent, function (code, data) {
      if (halted || gen !== generation) { return; }
      if (code === 2000) {
        if (action === 'STOP') { show('Signed out: recordings are no longer linked to ' + agent.loginId + '.'); }
        else { show('Recordings on ' + agent.extension + ' are linked to ' + agent.loginId + '.'); schedule('KEEPALIVE', gen); }
      } else if (code === 4021 && mayRetrySignIn) {
        jsessionId = null;
        send(action, false, gen);
      } else {
        failed(action, code ? code + ' ' + ((data && (data.detail || data.responseMessage)) || '') : 'no answer', gen);
      }
    });
  }

  function failed(action, why, gen) {
    show('Verbatim ' + action + ' failed (' + why + '); retrying in ' + Math.round(periodMs / 1000) + ' s.');
    schedule(action, gen);
  }

  function identity() {
    return {
      loginId: String(user.getId()),
      loginName: String((user.getLoginName && user.getLoginName()) || user.getId()),
      firstName: String(user.getFirstName() || ''),
      lastName: String(user.getLastName() || ''),
      extension: String(user.getExtension())
    };
  }

  function update() {
    var isIn = user.getState() !== 'LOGOUT';
    if (isIn && (!signedIn || identity().extension !== agent.extension)) {
      signedIn = true;
      agent = identity();
      generation++;
      send('START', true, generation);
    } else if (!isIn && signedIn) {
      signedIn = false;
      generation++;
      send('STOP', true, generation);
    }
  }

  gadgets.HubSettings.onConnect = function () {
    finesse.clientservices.ClientServices.init(finesse.gadget.Config);
    user = new finesse.restservices.User({ id: finesse.gadget.Config.id, onLoad: update, onChange: update });
  };
})();
`;

function xmlAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function agentGadgetXml(defaultBaseUrl: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Module>
  <ModulePrefs title="Verbatim Agent Info" description="Links the agent's recordings to the agent in Verbatim" height="30">
    <Require feature="pubsub-2" />
    <Require feature="setprefs" />
  </ModulePrefs>
  <UserPref name="verbatimUrl" datatype="hidden" default_value="${xmlAttribute(defaultBaseUrl)}" />
  <UserPref name="username" datatype="hidden" default_value="" />
  <UserPref name="password" datatype="hidden" default_value="" />
  <UserPref name="keepAliveSeconds" datatype="hidden" default_value="${AGENT_KEEPALIVE_INTERVAL_MS / 1000}" />
  <Content type="html"><![CDATA[
<script type="text/javascript" src="/desktop/assets/js/jquery.min.js"></script>
<script type="text/javascript" src="/desktop/assets/js/finesse.js"></script>
<div id="verbatim-agent-status" style="font: 12px sans-serif">Waiting for the agent to sign in.</div>
<script type="text/javascript">${GADGET_SCRIPT}</script>
]]></Content>
</Module>
`;
}

/** Public, as Finesse's gadget server fetches it without credentials; it holds no secret. */
export function registerAgentGadget(app: FastifyInstance, urls: MediaUrlOptions): void {
  const xml = agentGadgetXml(httpBaseUrl(urls));
  app.get(AGENT_GADGET_PATH, (_request, reply) =>
    reply.type('application/xml; charset=utf-8').header('cache-control', 'no-cache').send(xml),
  );
}

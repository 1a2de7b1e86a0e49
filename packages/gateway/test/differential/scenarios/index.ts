import type { Group } from '../scenario.js';
import { balancingGroups } from './balancing.js';
import { bodyGroups } from './bodies.js';
import { clientLimitGroups } from './client-limits.js';
import { failoverGroups } from './failover.js';
import { featureGroups } from './features.js';
import { headerGroups } from './headers.js';
import { infraGroups } from './infra.js';
import { keepaliveGroups } from './keepalive.js';
import { limitGroups } from './limits.js';
import { routingGroups } from './routing.js';
import { timeoutGroups } from './timeouts.js';
import { upgradeSafetyGroups } from './upgrade-safety.js';
import { websocketGroups } from './websocket.js';

/** Every group of the differential suite, in the order they run. */
export const groups: Group[] = [
  ...infraGroups,
  ...routingGroups,
  ...headerGroups,
  ...bodyGroups,
  ...balancingGroups,
  ...failoverGroups,
  ...timeoutGroups,
  ...keepaliveGroups,
  ...websocketGroups,
  ...upgradeSafetyGroups,
  ...featureGroups,
  ...clientLimitGroups,
  ...limitGroups,
];

// The phase modules in execution order. Each module's appliesTo() picks the cluster kind, so K3s and
// Talos share the phase names (install, join) without running each other's work. A phase missing
// here is reported as "not available in this build" by run.ts and shown from the static plan.
import { createKube } from '../adapters/kube/exec-kube.js'
import { createAddonsPhase } from '../core/phases/addons/index.js'
import { bootPhase } from '../core/phases/boot/module.js'
import { flashPhase } from '../core/phases/flash/module.js'
import { k3sInstallPhase } from '../core/kinds/k3s/install-phase.js'
import { k3sJoinPhase } from '../core/kinds/k3s/join-phase.js'
import { npuPhase } from '../core/kinds/k3s/npu/index.js'
import { osBootstrapPhase } from '../core/kinds/k3s/os-bootstrap/index.js'
import { talosInstallPhase, talosJoinPhase } from '../core/kinds/talos/index.js'
import type { PhaseModule } from '../core/phases/types.js'

export const PHASE_MODULES: PhaseModule[] = [
  flashPhase,
  bootPhase,
  osBootstrapPhase,
  k3sInstallPhase,
  talosInstallPhase,
  k3sJoinPhase,
  talosJoinPhase,
  createAddonsPhase({ createKube }),
  npuPhase
]

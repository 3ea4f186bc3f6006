import { MemoryHubCluster } from "./memory-cluster.js";
import { Mesh } from "./mesh.js";
import { hubScenarios } from "./scenarios.js";

hubScenarios("the memory transport", () => new MemoryHubCluster());
hubScenarios("the in-process mesh (no cluster layer)", () => new Mesh());

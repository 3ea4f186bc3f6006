import { hubScenarios } from "./scenarios.js";
import { ThreadHubCluster } from "./thread-cluster.js";

hubScenarios("the thread transport", () => new ThreadHubCluster());

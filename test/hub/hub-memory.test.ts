import { hubScenarios } from "./scenarios.js";
import { Mesh } from "./mesh.js";

hubScenarios("the in-process mesh", () => new Mesh());

export { TrainingManager, trainingSettingsFrom, type TrainingSettings, type TrainingSubmission } from './training-manager.js';
export { TRAINING_STATES, type TrainingJobView, type TrainingOptions, type TrainingState } from './training-job.js';
export { outputFileName, parseCount, parseMemory, parseTimeoutMinutes } from './training-options.js';
export type { Trainer, TrainingHandle, TrainingOutcome, TrainingRun } from './trainer.js';

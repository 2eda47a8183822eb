// kn.generative: what src/index.ts exports from this folder.
export { corrupt, reconstructionLoss, type CorruptOptions, type Likelihood, type LikelihoodOptions } from './autoencoder.js';
export { reparameterize, klStandardNormal, elbo, logMeanExp, importanceWeightedBound, type Elbo, type ElboOptions, type IwaeOptions } from './vae.js';
export { VAE, type VAEOptions } from './vae_model.js';
export { frechetDistance, frechetDistanceFromMoments, featureMoments, sqrtmPsd, symmetricEigen, type FeatureSet, type Moments } from './frechet.js';
export { classifierFeatures, type FeatureOptions } from './features.js';
export { imageGrid, type GridOptions } from './grid.js';

export { imageToTensor } from './image-tensor.js';
export { valuesToTensor, nestedShape } from './values-tensor.js';

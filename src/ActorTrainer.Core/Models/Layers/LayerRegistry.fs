namespace ActorTrainer.Core

/// Every layer class a config.json may name, one line per layer type, in the order error messages list them.
/// ModelConfig.parseLayer dispatches on this list and ModelConfig.layerClasses is its class names.
module internal LayerRegistry =

    /// The registered layer classes.
    let all : LayerRegistration[] =
        [| Dense.Registration
           Flatten.Registration
           Dropout.Registration
           ActivationLayer.Registration |]

using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ActorTrainer.Runtime;

/// <summary>Akka.Hosting integration for the daemon.</summary>
public static class ActorTrainerHostingExtensions
{
    /// <summary>Adds the trainer's serialization bindings (every ITrainingMessage → TrainingMessageSerializer) and its
    /// dispatchers (<see cref="ActorTrainingRunner.RuntimeDefaults"/>, as a fallback the app's own settings override).</summary>
    public static AkkaConfigurationBuilder WithActorTrainer(this AkkaConfigurationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithCustomSerializer(TrainingMessageSerializer.Alias, TrainingMessageSerializer.BoundTypes,
                system => new TrainingMessageSerializer(system))
            .AddHocon(ActorTrainingRunner.RuntimeDefaults, HoconAddMode.Append);   // the runtime's dispatchers
    }

    /// <summary>Registers an ActorSystem named systemName configured for the trainer (pass it to
    /// ActorTrainingRunner.RunAsync); `configure` may add more Akka settings.</summary>
    public static IServiceCollection AddActorTrainer(this IServiceCollection services, string systemName = "actor-trainer",
        Action<AkkaConfigurationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (string.IsNullOrWhiteSpace(systemName)) throw new ArgumentException("actor system name must be non-empty", nameof(systemName));
        return services.AddAkka(systemName, builder =>
        {
            builder.WithActorTrainer();
            configure?.Invoke(builder);
        });
    }
}

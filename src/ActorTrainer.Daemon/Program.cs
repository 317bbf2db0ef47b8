Console.WriteLine("ActorTrainer daemon (being written)");
return 0;

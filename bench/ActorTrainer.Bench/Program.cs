Console.WriteLine("bench (being written)");

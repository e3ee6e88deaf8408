using BgFetchCluster.Cli;

return await BgFetchCli.RunAsync(args, Console.Out, Console.Error);

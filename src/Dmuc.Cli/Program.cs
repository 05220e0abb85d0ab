using Dmuc.Cli;

return await DmucCli.RunAsync(args);

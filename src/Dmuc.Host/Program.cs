using Microsoft.Extensions.Hosting;
using Dmuc.Host;

IHost node;
try
{
    node = DmucNode.Build(args);
}
catch (Exception error) when (InvalidNodeSetting.IsSettingError(error))
{
    await Console.Error.WriteLineAsync(InvalidNodeSetting.Describe(error));
    return InvalidNodeSetting.ExitCode;
}
using (node) await node.RunAsync();
return 0;

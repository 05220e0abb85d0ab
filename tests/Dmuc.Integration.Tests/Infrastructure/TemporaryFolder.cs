namespace Dmuc.Integration.Tests.Infrastructure;

public static class TemporaryFolder
{
    /// <summary>Deletes a server's work folder; leftovers in /tmp are harmless, failing a test over them is not.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
